-- RETURNING loads keep what each batch returned, in the batch's own
-- transaction, so a loader that lost the answer (its stream dropped between
-- the commit and its read) gets it back by resending those rows under the
-- same load id. One row per batch: `rows` is a jsonb array of
-- [row_number, value, ...] arrays, values as PostgreSQL prints them (null
-- for NULL); first_row and end_row bound the row numbers it holds. Kept
-- while the load runs and, once it ended, until the sweep of abandoned loads
-- finds it idle for AVES_BULK_ABANDONED_AFTER_MS.
CREATE TABLE bulk_returned_rows (
  load_id   text   NOT NULL REFERENCES bulk_loads (load_id) ON DELETE CASCADE,
  first_row bigint NOT NULL CHECK (first_row >= 0),
  end_row   bigint NOT NULL,
  rows      jsonb  NOT NULL CHECK (jsonb_typeof(rows) = 'array'),
  PRIMARY KEY (load_id, first_row),
  CHECK (end_row > first_row)
);
