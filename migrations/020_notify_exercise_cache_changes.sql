-- Coherence of avesd's in-process lookup cache (server/store/lookup_cache.h).
-- Every statement that changes exercise_cache, whoever runs it, sends at
-- COMMIT one NOTIFY on channel aves_exercise_cache naming the learners whose
-- lookups it may have changed: "users UUID UUID ...", or "flush" when it
-- touched more than 100 learners or the table was truncated. Statement-level
-- triggers over transition tables: a statement of 100,000 rows is one
-- message, not 100,000 (and NOTIFY folds repeats within a transaction).
--
-- Deleting a row that had already expired changes no lookup (a lookup never
-- returns an expired row and the cache never serves one past expires_at), so
-- such rows are left out: purging expired entries sends nothing.
--
-- The payload stays far under NOTIFY's 8000-byte limit (100 times 37 bytes), so
-- the trigger can never fail the write it reports. The cache invalidates a
-- learner's entries whole: a learner holds a few contexts, and the payload
-- then never carries text another program wrote.
CREATE FUNCTION aves_notify_exercise_cache_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  learners uuid[];
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('aves_exercise_cache', 'flush');
    RETURN NULL;
  END IF;
  -- At most 101 distinct learners are gathered: past 100 it is a flush.
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(user_id) INTO learners
      FROM (SELECT DISTINCT user_id FROM new_rows LIMIT 101) AS changed;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT array_agg(user_id) INTO learners
      FROM (SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows
            LIMIT 101) AS changed;
  ELSE
    SELECT array_agg(user_id) INTO learners
      FROM (SELECT DISTINCT user_id FROM old_rows
             WHERE expires_at IS NULL OR expires_at > now()
            LIMIT 101) AS changed;
  END IF;
  IF learners IS NULL THEN
    RETURN NULL;
  ELSIF cardinality(learners) > 100 THEN
    PERFORM pg_notify('aves_exercise_cache', 'flush');
  ELSE
    PERFORM pg_notify('aves_exercise_cache',
                      'users ' || array_to_string(learners, ' '));
  END IF;
  RETURN NULL;
END;
$$;

-- A trigger with transition tables takes one event, hence one per event.
CREATE TRIGGER exercise_cache_notify_insert
  AFTER INSERT ON exercise_cache REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION aves_notify_exercise_cache_change();
CREATE TRIGGER exercise_cache_notify_update
  AFTER UPDATE ON exercise_cache
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION aves_notify_exercise_cache_change();
CREATE TRIGGER exercise_cache_notify_delete
  AFTER DELETE ON exercise_cache REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION aves_notify_exercise_cache_change();
CREATE TRIGGER exercise_cache_notify_truncate
  AFTER TRUNCATE ON exercise_cache
  FOR EACH STATEMENT EXECUTE FUNCTION aves_notify_exercise_cache_change();
