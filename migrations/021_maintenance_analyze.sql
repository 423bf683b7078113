-- Scheduled ANALYZE by avesd (server/store/maintenance_store.h). ANALYZE
-- needs the table's owner, and avesd serves as a member of
-- aves_data_service (migration 018), which owns nothing: this function,
-- owned by the schema owner that runs migrations, analyzes one of the
-- service's tables on its behalf, and nothing else. The list of tables is
-- also what avesd checks for rows modified since the last ANALYZE.
CREATE FUNCTION aves_maintained_tables() RETURNS SETOF text
LANGUAGE sql IMMUTABLE AS $$
  VALUES ('users'), ('vocabulary'), ('user_progress'), ('images'),
         ('exercise_cache'), ('batch_jobs'), ('ai_annotation_items'),
         ('batch_job_errors'), ('bulk_loads'), ('bulk_returned_rows')
$$;

CREATE FUNCTION aves_analyze_table(table_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  IF table_name IS NULL OR NOT EXISTS
       (SELECT FROM aves_maintained_tables() AS t(name) WHERE t.name = table_name) THEN
    RAISE EXCEPTION 'not one of the service''s tables: %', table_name
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  EXECUTE format('ANALYZE %I', table_name);
END
$$;

-- A SECURITY DEFINER function resolves names only in the data's schema
-- (then pg_temp last), never in a schema a caller put first.
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION aves_analyze_table(text) SET search_path = %I, pg_temp',
                 current_schema());
END
$$;

REVOKE ALL ON FUNCTION aves_analyze_table(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aves_analyze_table(text) TO aves_data_service;
GRANT EXECUTE ON FUNCTION aves_maintained_tables() TO aves_data_service;
