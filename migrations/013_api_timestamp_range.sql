-- Timestamps the API can represent. google.protobuf.Timestamp covers
-- 0001-01-01 to 9999-12-31; PostgreSQL also stores 'infinity', '-infinity'
-- and years past 9999, and a row holding one could not be read back through
-- the API (and used to break every read that met it). These CHECKs refuse
-- such values from every writer, the bulk path and other programs alike.
-- NOT VALID: rows already stored are not scanned (the service reads them
-- robustly: a row it cannot represent fails only its own read); every new
-- or updated row is checked.
-- How the service reads a timestamp: Unix microseconds, and for a value
-- outside that range a sentinel (the smallest bigint but one) rather than an
-- error, so one such row cannot fail a statement that reads many
-- (server/store/timestamps.h). STABLE like extract(); inlined by the planner.
CREATE FUNCTION aves_epoch_us(t timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN t IS NULL THEN NULL
    WHEN t >= '0001-01-01 00:00:00+00' AND t < '10000-01-01 00:00:00+00'
      THEN (extract(epoch FROM t) * 1000000)::bigint
    ELSE -9223372036854775807
  END
$$;

ALTER TABLE users ADD CONSTRAINT users_created_at_in_api_range
  CHECK (created_at >= '0001-01-01 00:00:00+00' AND created_at < '10000-01-01 00:00:00+00') NOT VALID;
ALTER TABLE vocabulary ADD CONSTRAINT vocabulary_created_at_in_api_range
  CHECK (created_at >= '0001-01-01 00:00:00+00' AND created_at < '10000-01-01 00:00:00+00') NOT VALID;
ALTER TABLE user_progress ADD CONSTRAINT user_progress_last_practiced_at_in_api_range
  CHECK (last_practiced_at >= '0001-01-01 00:00:00+00' AND last_practiced_at < '10000-01-01 00:00:00+00') NOT VALID;
ALTER TABLE images ADD CONSTRAINT images_created_at_in_api_range
  CHECK (created_at >= '0001-01-01 00:00:00+00' AND created_at < '10000-01-01 00:00:00+00') NOT VALID;
ALTER TABLE exercise_cache ADD CONSTRAINT exercise_cache_times_in_api_range
  CHECK (created_at >= '0001-01-01 00:00:00+00' AND created_at < '10000-01-01 00:00:00+00'
     AND expires_at >= '0001-01-01 00:00:00+00' AND expires_at < '10000-01-01 00:00:00+00') NOT VALID;
ALTER TABLE batch_jobs ADD CONSTRAINT batch_jobs_times_in_api_range
  CHECK (created_at >= '0001-01-01 00:00:00+00' AND created_at < '10000-01-01 00:00:00+00'
     AND started_at >= '0001-01-01 00:00:00+00' AND started_at < '10000-01-01 00:00:00+00'
     AND completed_at >= '0001-01-01 00:00:00+00' AND completed_at < '10000-01-01 00:00:00+00'
     AND updated_at >= '0001-01-01 00:00:00+00' AND updated_at < '10000-01-01 00:00:00+00') NOT VALID;
ALTER TABLE ai_annotation_items ADD CONSTRAINT ai_annotation_items_times_in_api_range
  CHECK (created_at >= '0001-01-01 00:00:00+00' AND created_at < '10000-01-01 00:00:00+00'
     AND reviewed_at >= '0001-01-01 00:00:00+00' AND reviewed_at < '10000-01-01 00:00:00+00') NOT VALID;
ALTER TABLE batch_job_errors ADD CONSTRAINT batch_job_errors_created_at_in_api_range
  CHECK (created_at >= '0001-01-01 00:00:00+00' AND created_at < '10000-01-01 00:00:00+00') NOT VALID;
