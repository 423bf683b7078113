-- Live job updates for BatchJobService.WatchJobs. Every insert, update and
-- delete of a batch_jobs row sends a NOTIFY on channel aves_batch_jobs; avesd
-- holds one listening connection and fans the changes out to its watchers.
--
-- The payload is small and bounded (NOTIFY refuses payloads over 8000 bytes,
-- and a failing trigger would fail the job's own write): "OP ID STATUS
-- OLD_STATUS JOB_TYPE", space-separated, OLD_STATUS '-' unless an UPDATE,
-- the job type last (it may contain spaces). The listener reads the
-- row itself. old_status lets a watcher of 'processing' jobs see the job that
-- just left for 'completed'. Notifications are sent at COMMIT, so a rolled
-- back change is never reported.
CREATE FUNCTION aves_notify_batch_job_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  job batch_jobs;
BEGIN
  IF TG_OP = 'DELETE' THEN
    job := OLD;
  ELSE
    job := NEW;
  END IF;
  PERFORM pg_notify('aves_batch_jobs', concat_ws(' ',
    TG_OP, job.id, job.status,
    CASE WHEN TG_OP = 'UPDATE' THEN OLD.status ELSE '-' END,
    left(job.job_type, 200)));
  RETURN NULL;
END;
$$;

CREATE TRIGGER batch_jobs_notify_change
  AFTER INSERT OR UPDATE OR DELETE ON batch_jobs
  FOR EACH ROW EXECUTE FUNCTION aves_notify_batch_job_change();
