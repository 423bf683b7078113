-- Who created each job: the authenticated caller's subject (a token's sub,
-- or cn:<name> for a client certificate), recorded by avesd from the call,
-- never from the request. NULL for jobs created without authentication and
-- for jobs from before this migration. 200 bytes: avesd's subject limit.
ALTER TABLE batch_jobs
  ADD COLUMN created_by text
  CHECK (created_by IS NULL OR octet_length(created_by) BETWEEN 1 AND 200);
