// The bulk path's SQL, beside it: fixed statements as named constants, and
// the statements whose table and column names come from a load's spec built
// here from catalog names, always quoted (db::QuoteIdentifier) — never from
// request text. Writes of batch_jobs are not here: they go through
// store::JobStore.
#ifndef AVES_SERVER_BULK_BULK_SQL_H_
#define AVES_SERVER_BULK_BULK_SQL_H_

#include <string>
#include <vector>

#include "server/bulk/load_spec.h"
#include "server/db/prepared_statement.h"
#include "server/db/statement_name.h"

namespace aves::bulk::sql {

// $1 load id, $2 columns (text[]): the load's table, whether its columns
// are these, its offset, its current attempt's job and status, its
// committed ranges above the offset, the seconds left on the current
// attempt's lease (0 when it lapsed or there is none), and its totals.
// Locks the load's row.
inline constexpr char kOpenLoad[] =
    AVES_SQL_NAME("bulk_open_load")
    "SELECT l.table_name, l.columns = $2::text[], l.committed_offset, "
    "l.job_id::text, j.status, (l.committed_rows - "
    "int8multirange(int8range(0, l.committed_offset)))::text, "
    "coalesce(greatest(extract(epoch FROM l.lease_until - now()), 0), "
    "0)::float8, l.rows_inserted, l.rows_updated, l.rows_failed FROM "
    "bulk_loads l JOIN batch_jobs j ON "
    "j.id = l.job_id WHERE l.load_id = $1 FOR UPDATE OF l";

// $1 load id, $2 job id, $3 table, $4 columns (text[]), $5 mode, $6 lease
// seconds: a new load, held by its first attempt for the lease. No row back
// when another stream created the same load id meanwhile.
inline constexpr char kCreateLoad[] =
    AVES_SQL_NAME("bulk_create_load")
    "INSERT INTO bulk_loads (load_id, job_id, table_name, columns, "
    "mode, lease_until) VALUES ($1, $2, $3, $4::text[], $5, now() + "
    "make_interval(secs => $6::float8)) ON CONFLICT (load_id) DO NOTHING "
    "RETURNING load_id";

// $1 load id, $2 job id, $3 lease seconds: a new attempt of a load whose row
// the caller holds locked (kOpenLoad), holding it for the lease.
inline constexpr char kRecordAttempt[] =
    AVES_SQL_NAME("bulk_record_attempt")
    "UPDATE bulk_loads SET job_id = $2, lease_until = now() + "
    "make_interval(secs => $3::float8), updated_at = now() WHERE "
    "load_id = $1";

// $1 job ids (uuid[]), $2 lease seconds: the attempts' streams are alive.
// An attempt that was taken over no longer matches its load's row.
inline constexpr char kRenewLeases[] =
    AVES_SQL_NAME("bulk_renew_leases")
    "UPDATE bulk_loads SET lease_until = now() + make_interval(secs => "
    "$2::float8) WHERE job_id = ANY($1::uuid[])";

// $1 load id, $2 job id: the attempt ended; nobody holds the load.
inline constexpr char kReleaseLease[] =
    AVES_SQL_NAME("bulk_release_lease")
    "UPDATE bulk_loads SET lease_until = NULL WHERE load_id = $1 AND "
    "job_id = $2";

// $1 load id, rows [$2, $3): the part of them committed before (a
// multirange's text), and the rows the load refused so far.
inline constexpr char kCommittedPart[] =
    AVES_SQL_NAME("bulk_committed_part")
    "SELECT (committed_rows * int8multirange(int8range($2, "
    "$3)))::text, rows_failed FROM bulk_loads WHERE load_id = $1";

// $1 load id, rows [$2, $3), $4 the committed part read before, $5-$7 the
// batch's rows inserted, updated and refused: adds the range to the
// committed rows, moves the contiguous prefix on and counts the rows into
// the load's totals, only if that part is still what was read (else no row
// back: another stream committed some of these rows meanwhile). Takes the
// load's row lock; gives the new offset and the load's refused rows.
inline constexpr char kMarkCommitted[] =
    AVES_SQL_NAME("bulk_mark_committed")
    "UPDATE bulk_loads SET committed_rows = committed_rows + "
    "int8multirange(int8range($2, $3)), committed_offset = "
    "coalesce((SELECT upper(r) FROM unnest(committed_rows + "
    "int8multirange(int8range($2, $3))) AS r WHERE lower(r) = 0), "
    "0), rows_inserted = rows_inserted + $5, rows_updated = rows_updated "
    "+ $6, rows_failed = rows_failed + $7, updated_at = now() WHERE "
    "load_id = $1 AND (committed_rows * int8multirange(int8range($2, "
    "$3)))::text = $4 RETURNING committed_offset, rows_failed";

// $1 load id, rows [$2, $3), $4 their returned values (jsonb: an array of
// [row_number, value, ...]): what a RETURNING batch gave back.
inline constexpr char kSaveReturned[] =
    AVES_SQL_NAME("bulk_save_returned")
    "INSERT INTO bulk_returned_rows (load_id, first_row, end_row, rows) "
    "VALUES ($1, $2, $3, $4::jsonb)";

// $1 load id, rows [$2, $3): the stored returned values of those rows, one
// result row per value (row number, its column's position from 1, the value
// or NULL), in row then column order.
inline constexpr char kStoredReturned[] =
    AVES_SQL_NAME("bulk_stored_returned")
    "SELECT (e->>0)::int8 AS row_number, t.position - 1, t.value FROM "
    "bulk_returned_rows b CROSS JOIN LATERAL jsonb_array_elements(b.rows) "
    "AS e CROSS JOIN LATERAL jsonb_array_elements_text(e) WITH ORDINALITY "
    "AS t(value, position) WHERE b.load_id = $1 AND b.first_row < $3 AND "
    "b.end_row > $2 AND (e->>0)::int8 >= $2 AND (e->>0)::int8 < $3 AND "
    "t.position > 1 ORDER BY 1, 2";

// $1 seconds: the returned values of loads that ended (or never had a job
// running) and wrote nothing for that long.
inline constexpr char kDeleteIdleReturned[] =
    AVES_SQL_NAME("bulk_delete_idle_returned")
    "DELETE FROM bulk_returned_rows r USING bulk_loads l JOIN batch_jobs j "
    "ON j.id = l.job_id WHERE r.load_id = l.load_id AND j.status NOT IN "
    "('pending', 'processing') AND l.updated_at < now() - "
    "make_interval(secs => $1::float8)";

// $1 load id: a sign of life for the sweep of abandoned loads.
inline constexpr char kTouchLoad[] =
    AVES_SQL_NAME("bulk_touch_load")
    "UPDATE bulk_loads SET updated_at = now() WHERE load_id = $1";

// $1 load id, $2 rows, $3 inserted, $4 updated: an atomic load's whole
// range, committed at once, and its counts.
inline constexpr char kPublishOffset[] =
    AVES_SQL_NAME("bulk_publish_offset")
    "UPDATE bulk_loads SET committed_offset = $2, committed_rows = "
    "int8multirange(int8range(0, $2)), rows_inserted = rows_inserted + $3, "
    "rows_updated = rows_updated + $4, updated_at = now() WHERE "
    "load_id = $1";

// $1 seconds: the running attempts whose load wrote nothing for that long,
// with their offsets. Locks their load rows, skipping any a batch holds (a
// load committing right now is not abandoned).
inline constexpr char kAbandonedAttempts[] =
    AVES_SQL_NAME("bulk_abandoned_attempts")
    "SELECT l.job_id::text, l.committed_offset FROM bulk_loads l JOIN "
    "batch_jobs j ON j.id = l.job_id WHERE j.status IN ('pending', "
    "'processing') AND l.updated_at < now() - make_interval(secs => "
    "$1::float8) FOR UPDATE OF l SKIP LOCKED";

// The staging tables in the current schema.
inline constexpr char kListStages[] =
    AVES_SQL_NAME("bulk_list_stages")
    "SELECT relname FROM pg_class WHERE relkind = 'r' AND "
    "relnamespace = to_regnamespace('aves_stage') AND "
    "relname LIKE 'aves\\_stage\\_%'";

// The job ids of running attempts (each attempt has a stage of its own).
inline constexpr char kRunningAttempts[] =
    AVES_SQL_NAME("bulk_running_attempts")
    "SELECT l.job_id::text FROM bulk_loads l JOIN batch_jobs j ON "
    "j.id = l.job_id WHERE j.status IN ('pending', 'processing')";

// The temporary table upsert and RETURNING batches COPY into first.
inline constexpr char kBatchTable[] = "aves_upsert_rows";

// CREATE TEMP TABLE of the spec's columns (no constraints: LIKE would copy
// NOT NULL of columns a load leaves to their defaults; the target checks
// the rows), dropped at commit.
std::string CreateBatchTable(const LoadSpec& spec);

// INSERT INTO target (cols) SELECT cols FROM `source` [ON CONFLICT ...],
// counting inserted and updated rows (xmax = 0 marks a fresh row).
std::string MoveRows(const LoadSpec& spec, const std::string& source);

// INSERT INTO target (cols) SELECT cols FROM the batch table, in the order
// the rows arrived, RETURNING the asked-for columns. No parameters at all,
// so PostgreSQL's 65,535-parameter limit never applies.
std::string InsertReturning(const LoadSpec& spec);

// An atomic upsert's rows: each conflict key's last row from `stage` (one
// statement cannot meet a key twice under ON CONFLICT).
std::string LastRowPerKey(const LoadSpec& spec, const std::string& stage);

// `source`'s rows numbered (aves_row) in [$1, $2).
std::string RowsBetween(const std::string& source);

// $1 the table (quoted, as regclass reads it), $2 a constraint or unique
// index name: its columns, comma-separated (NULL when there is none).
inline constexpr char kConstraintColumns[] =
    AVES_SQL_NAME("bulk_constraint_columns")
    "SELECT string_agg(a.attname, ', ' ORDER BY k.position) FROM (SELECT "
    "conrelid AS rel, conkey AS keys FROM pg_constraint WHERE conrelid = "
    "$1::regclass AND conname = $2 UNION ALL SELECT i.indrelid, "
    "i.indkey::int2[] FROM pg_index i JOIN pg_class c ON c.oid = "
    "i.indexrelid WHERE i.indrelid = $1::regclass AND c.relname = $2 "
    "LIMIT 1) s CROSS JOIN LATERAL unnest(s.keys) WITH ORDINALITY AS "
    "k(attnum, position) JOIN pg_attribute a ON a.attrelid = s.rel AND "
    "a.attnum = k.attnum";

// The stage of an atomic load: created empty with the spec's columns and the
// row number, `aves_row`.
std::string CreateStage(const LoadSpec& spec, const std::string& stage);

// Every statement above by name, for the query metrics: the fixed texts
// (planned when slow) and the names of those built at run time.
std::vector<db::PreparedStatement> NamedStatements();

}  // namespace aves::bulk::sql

#endif  // AVES_SERVER_BULK_BULK_SQL_H_
