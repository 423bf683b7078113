-- Least privilege: avesd serves as a member of aves_data_service, which may
-- read and write the service's rows and nothing more (no DDL on the data's
-- schema, no superuser); migrations keep running as the schema owner
-- (AVES_MIGRATE_DATABASE_URL). The only tables the serving role creates are
-- bulk loads' stages, in a schema of their own.
--
-- The group role is cluster-wide: created here when missing (the migrator
-- then needs CREATEROLE; a DBA who withholds that creates it first, and this
-- skips it). Another database of the cluster may be migrating at the same
-- moment: its concurrent CREATE ROLE surfaces here as a unique violation.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'aves_data_service') THEN
    CREATE ROLE aves_data_service NOLOGIN;
  END IF;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

CREATE SCHEMA IF NOT EXISTS aves_stage;
GRANT USAGE, CREATE ON SCHEMA aves_stage TO aves_data_service;

DO $$
DECLARE
  data_schema text := current_schema();
  stage record;
BEGIN
  -- Stages of loads in flight while this runs, created where they used to be.
  FOR stage IN
    SELECT tablename FROM pg_tables
    WHERE schemaname = data_schema AND tablename LIKE 'aves\_stage\_%'
  LOOP
    EXECUTE format('ALTER TABLE %I.%I SET SCHEMA aves_stage', data_schema,
                   stage.tablename);
  END LOOP;
  -- PostgreSQL 15 no longer lets PUBLIC create in the public schema; a
  -- database upgraded from an older release still may.
  EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', data_schema);
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO aves_data_service', data_schema);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I '
                 'TO aves_data_service', data_schema);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I '
                 'TO aves_data_service', data_schema);
  -- Tables later migrations create get the same rights.
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, '
                 'UPDATE, DELETE ON TABLES TO aves_data_service', data_schema);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT '
                 'ON SEQUENCES TO aves_data_service', data_schema);
END
$$;

-- The migrator's ledger: the service reads it (health, GetMigrationStatus)
-- and never writes it.
REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM aves_data_service;
