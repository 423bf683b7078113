-- pg_stat_statements, read by AdminService.GetQueryStats (avesctl top).
-- Created only where it is allowed and useful: the extension must be
-- available, and only a superuser may create it (it is not a trusted
-- extension). Elsewhere this does nothing and GetQueryStats answers
-- FAILED_PRECONDITION saying how a DBA enables it. Loading it
-- (shared_preload_libraries) is the server's configuration, not ours;
-- creating it before it is loaded is harmless.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_available_extensions
             WHERE name = 'pg_stat_statements')
     AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
  ELSE
    RAISE NOTICE 'pg_stat_statements not created: not available, or % is not a superuser',
      current_user;
  END IF;
END
$$;
