-- +goose Up
CREATE TABLE expiring_resources (
  id                    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  cloud_provider        VARCHAR(16)   NOT NULL,
  account_id            VARCHAR(64)   NOT NULL,
  resource_id           VARCHAR(128)  COLLATE utf8mb4_bin NOT NULL,
  resource_name         VARCHAR(512)  NOT NULL DEFAULT '',
  region_code           VARCHAR(64)   NOT NULL DEFAULT '',
  project_id            VARCHAR(64)   NOT NULL DEFAULT '',
  service_type_code     VARCHAR(64)   NOT NULL DEFAULT '',
  resource_type_code    VARCHAR(64)   NOT NULL DEFAULT '',
  resource_spec_code    VARCHAR(128)  NOT NULL DEFAULT '',
  parent_resource_id    VARCHAR(128)  COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  is_main_resource      BOOLEAN       NOT NULL DEFAULT TRUE,
  status                INT           NOT NULL,
  effective_time        DATETIME      NULL,
  expire_time           DATETIME      NOT NULL,
  expire_policy         INT           NOT NULL DEFAULT 0,
  enterprise_project_id VARCHAR(64)   NOT NULL DEFAULT '',
  tags                  JSON          NULL,
  tag_status            VARCHAR(16)   NOT NULL,
  tag_error             VARCHAR(1024) NOT NULL DEFAULT '',
  is_active             BOOLEAN       NOT NULL DEFAULT TRUE,
  first_seen_at         DATETIME      NOT NULL,
  last_synced_at        DATETIME      NOT NULL,
  last_sync_id          VARCHAR(255)  NOT NULL,
  UNIQUE KEY uq_expiring_resources_resource (cloud_provider, account_id, resource_id),
  KEY idx_expiring_resources_expire_time (expire_time),
  KEY idx_expiring_resources_account_expire (cloud_provider, account_id, expire_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE resource_sync_logs (
  sync_id               VARCHAR(255) NOT NULL PRIMARY KEY,
  cloud_provider        VARCHAR(16)  NOT NULL,
  account_id            VARCHAR(64)  NOT NULL,
  status                VARCHAR(16)  NOT NULL,
  expire_days           INT          NOT NULL,
  window_begin          DATETIME     NOT NULL,
  window_end            DATETIME     NOT NULL,
  total_resources       INT          NOT NULL DEFAULT 0,
  tagged_resources      INT          NOT NULL DEFAULT 0,
  untagged_resources    INT          NOT NULL DEFAULT 0,
  vanished_resources    INT          NOT NULL DEFAULT 0,
  tag_error_resources   INT          NOT NULL DEFAULT 0,
  deactivated_resources INT          NOT NULL DEFAULT 0,
  rows_written          INT          NOT NULL DEFAULT 0,
  batches_committed     INT          NOT NULL DEFAULT 0,
  last_committed_batch  INT          NOT NULL DEFAULT 0,
  next_offset           INT          NOT NULL DEFAULT 0,
  next_row              INT          NOT NULL DEFAULT 0,
  attempts              INT          NOT NULL DEFAULT 1,
  run_id                VARCHAR(64)  NOT NULL DEFAULT '',
  started_at            DATETIME     NOT NULL,
  updated_at            DATETIME     NOT NULL,
  finished_at           DATETIME     NULL,
  error_message         TEXT         NULL,
  KEY idx_resource_sync_logs_account_started (account_id, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE resource_sync_logs;
DROP TABLE expiring_resources;
