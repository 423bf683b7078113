-- aves:no-transaction
-- The seven indexes of the performance report, with its exact names and
-- definitions. CONCURRENTLY keeps writes flowing while they build on a live
-- database; it cannot run inside a transaction, hence the marker above, and
-- IF NOT EXISTS makes a re-run after an interruption safe. The migrator drops
-- an INVALID index left by an interrupted build before re-running this file.

-- 1. Cache hit/miss by learner context.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_exercise_cache_lookup
ON exercise_cache(user_id, exercise_type, difficulty_level, topic, expires_at);

-- 2. Expired-entry cleanup.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_exercise_cache_expires
ON exercise_cache(expires_at)
WHERE expires_at IS NOT NULL;

-- 3. Annotations of one image, most confident first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_annotations_image
ON ai_annotation_items(image_id, confidence DESC);

-- 4. The review queue.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_annotations_status
ON ai_annotation_items(status, created_at DESC)
WHERE status IN ('pending', 'approved', 'rejected', 'edited');

-- 5. Active jobs on the admin dashboard.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_batch_jobs_status
ON batch_jobs(status, created_at DESC)
WHERE status IN ('pending', 'processing', 'completed', 'failed', 'cancelled');

-- 6. Jobs of one type, filtered by status.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_batch_jobs_type
ON batch_jobs(job_type, status, created_at DESC);

-- 7. Errors of one job.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_batch_job_errors_job
ON batch_job_errors(job_id, created_at DESC);

ANALYZE exercise_cache;
ANALYZE ai_annotation_items;
ANALYZE batch_jobs;
ANALYZE batch_job_errors;
