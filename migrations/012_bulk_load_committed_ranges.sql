-- Batches of one load commit in parallel over several pooled connections, so
-- they may finish out of order: a load records every committed row range, not
-- only a prefix. committed_rows is the union of the committed batches (the
-- multirange merges adjacent ranges, so it stays a handful of ranges);
-- committed_offset stays the contiguous prefix [0, offset), where a resumed
-- loader restarts. Rows above the offset inside committed_rows are
-- acknowledged without being written again.
ALTER TABLE bulk_loads
  ADD COLUMN committed_rows int8multirange NOT NULL DEFAULT '{}';
UPDATE bulk_loads
   SET committed_rows = int8multirange(int8range(0, committed_offset));
