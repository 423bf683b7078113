-- Resumable bulk loads (BulkInsertService). One row per load id: the table
-- and columns it writes, the batch_jobs row of its current attempt, and the
-- committed row offset, which each batch updates in the same transaction as
-- its rows. A loader that reconnects with the same load id resumes at the
-- offset, so no row is written twice and none is lost.
CREATE TABLE bulk_loads (
  load_id          text        PRIMARY KEY CHECK (length(load_id) BETWEEN 1 AND 200),
  job_id           uuid        NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
  table_name       text        NOT NULL,
  columns          text[]      NOT NULL,
  mode             text        NOT NULL CHECK (mode IN ('insert', 'upsert', 'returning')),
  committed_offset bigint      NOT NULL DEFAULT 0 CHECK (committed_offset >= 0),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bulk_loads_job_id_idx ON bulk_loads (job_id);
