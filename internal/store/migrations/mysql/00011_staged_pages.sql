-- +goose Up
-- Listing pages a sync staged between ListPage and the CommitPage that
-- writes them, so that pages cross Temporal's history by reference (a key)
-- rather than by value. body is the page's resources, JSON compressed with
-- gzip. page_key is unique within an attempt (generation): a listing that
-- was abandoned and still finishes can never overwrite a newer one.
CREATE TABLE staged_pages (
  sync_id    VARCHAR(255) NOT NULL,
  generation BIGINT       NOT NULL,
  page_key   BIGINT       NOT NULL,
  body       LONGBLOB     NOT NULL,
  PRIMARY KEY (sync_id, generation, page_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE staged_pages;
