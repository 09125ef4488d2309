-- +goose Up
-- Listing pages staged between ListPage and CommitPage: see the MySQL
-- migration of the same number.
CREATE TABLE staged_pages (
  sync_id    TEXT    NOT NULL,
  generation INTEGER NOT NULL,
  page_key   INTEGER NOT NULL,
  body       BLOB    NOT NULL,
  PRIMARY KEY (sync_id, generation, page_key)
);

-- +goose Down
DROP TABLE staged_pages;
