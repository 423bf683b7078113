-- Per-item failures of a batch job (for bulk loads: the rejected row's index).
CREATE TABLE batch_job_errors (
  id            bigserial   PRIMARY KEY,
  job_id        uuid        NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
  item_index    bigint      CHECK (item_index >= 0),
  item_id       text,
  error_message text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
