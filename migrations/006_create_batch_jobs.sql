-- Long-running work (AI annotation runs, bulk loads) that the admin dashboard
-- monitors. Counts are bigint: a bulk load may exceed 2^31 rows over its life.
CREATE TABLE batch_jobs (
  id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  job_type        text        NOT NULL CHECK (job_type <> ''),
  status          text        NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  total_items     bigint      NOT NULL DEFAULT 0 CHECK (total_items >= 0),
  processed_items bigint      NOT NULL DEFAULT 0 CHECK (processed_items >= 0),
  failed_items    bigint      NOT NULL DEFAULT 0 CHECK (failed_items >= 0),
  metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  completed_at    timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- updated_at is maintained by the database so no writer can forget it.
CREATE FUNCTION aves_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;

CREATE TRIGGER batch_jobs_touch_updated_at
  BEFORE UPDATE ON batch_jobs
  FOR EACH ROW EXECUTE FUNCTION aves_touch_updated_at();
