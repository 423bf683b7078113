-- A load's counts across all its attempts: each batch (and an atomic
-- publish) adds its rows in its own transaction, so they always agree with
-- what was committed. A resumed attempt's job starts from them, so the job of
-- the attempt that completes a load counts all of it, however many resumes it
-- took; the summary returns them beside the call's own counts. Loads from
-- before this migration start from what their attempts' jobs processed,
-- counted as inserted (their split into inserted and updated was not kept).
ALTER TABLE bulk_loads
  ADD COLUMN rows_inserted bigint NOT NULL DEFAULT 0 CHECK (rows_inserted >= 0),
  ADD COLUMN rows_updated  bigint NOT NULL DEFAULT 0 CHECK (rows_updated >= 0),
  ADD COLUMN rows_failed   bigint NOT NULL DEFAULT 0 CHECK (rows_failed >= 0);
UPDATE bulk_loads l
   SET rows_inserted = coalesce(j.processed, 0), rows_failed = coalesce(j.failed, 0)
  FROM (SELECT metadata->>'load_id' AS load_id, sum(processed_items) AS processed,
               sum(failed_items) AS failed
          FROM batch_jobs WHERE job_type = 'bulk_insert' GROUP BY 1) j
 WHERE j.load_id = l.load_id;
