// The named SQL of the stores: every index-backed read the service runs,
// and the stores' writes. One definition serves the stores, the index-proof
// tests and VerifyIndexes, so what is proven to use an index is exactly what
// runs. (The bulk path keeps its own statements beside it: bulk/bulk_sql.h.)
//
// Two rules shape these texts (measured in
// tests/integration/indexes_pgtest.cc):
//  - The seed's partial indexes have predicates on status. A prepared
//    statement's generic plan cannot prove "status = $1" implies the
//    predicate, so the queries repeat the predicate literally
//    ("AND status IN (...all values...)"): always true, and it lets the planner
//    use the partial index under both custom and generic plans.
//  - Lists page by keyset: "sort_key <= $k AND (sort_key < $k OR id < $id)"
//    gives the index a range condition; ORDER BY ..., id DESC is a cheap
//    incremental sort on the index order. The first page passes sentinels
//    (infinity / the largest id), so each list has one text, not two.
#ifndef AVES_SERVER_STORE_QUERIES_H_
#define AVES_SERVER_STORE_QUERIES_H_

namespace aves::store {

// A timestamptz column as Unix microseconds (independent of the session's
// TimeZone) by migration 013's aves_epoch_us: NULL stays NULL, and a value
// the API cannot represent ('infinity', years past 9999) becomes
// store::kUnrepresentableMicros rather than failing the statement
// (timestamps.h).
#define AVES_EPOCH_US(column) "aves_epoch_us(" column ")"

// The columns of an exercise_cache row as the stores read them: ids as text,
// JSON as text, timestamps as AVES_EPOCH_US.
#define AVES_EXERCISE_COLUMNS                                             \
  "id::text, user_id::text, exercise_type, difficulty_level, topic, "     \
  "exercise_data::text, " AVES_EPOCH_US("created_at") ", " AVES_EPOCH_US( \
      "expires_at")

struct NamedQuery {
  const char* name;            // prepared-statement name
  const char* sql;             // the text, with $n parameters
  const char* intended_index;  // the index it must use
};

// $1 user_id, $2 exercise_type, $3 difficulty_level. Any topic; the newest
// entry that has not expired (a NULL expires_at never expires).
inline constexpr NamedQuery kLookupExercise{
    "lookup_exercise",
    "SELECT " AVES_EXERCISE_COLUMNS
    " FROM exercise_cache "
    "WHERE user_id = $1 AND exercise_type = $2 AND difficulty_level = $3 "
    "AND (expires_at IS NULL OR expires_at > now()) "
    "ORDER BY created_at DESC LIMIT 1",
    "idx_exercise_cache_lookup"};

// As kLookupExercise, and $4 topic.
inline constexpr NamedQuery kLookupExerciseWithTopic{
    "lookup_exercise_with_topic",
    "SELECT " AVES_EXERCISE_COLUMNS
    " FROM exercise_cache "
    "WHERE user_id = $1 AND exercise_type = $2 AND difficulty_level = $3 AND "
    "topic = $4 "
    "AND (expires_at IS NULL OR expires_at > now()) "
    "ORDER BY created_at DESC LIMIT 1",
    "idx_exercise_cache_lookup"};

// Many lookups in one round trip: $1 user_ids (uuid[]), $2 exercise_types
// (text[]), $3 difficulty_levels (int4[]), $4 topics (text[]; NULL element:
// any topic). One row per key that has an entry, led by the key's 1-based
// position. Each key is the single-key lookup above, run per key by the
// LATERAL join on the same index.
inline constexpr NamedQuery kLookupExercisesBatch{
    "lookup_exercises_batch",
    "SELECT k.position, e.* FROM unnest($1::uuid[], $2::text[], $3::int4[], "
    "$4::text[]) WITH ORDINALITY AS k(user_id, exercise_type, "
    "difficulty_level, topic, position) "
    "CROSS JOIN LATERAL (SELECT " AVES_EXERCISE_COLUMNS
    " FROM exercise_cache c "
    "WHERE c.user_id = k.user_id AND c.exercise_type = k.exercise_type "
    "AND c.difficulty_level = k.difficulty_level "
    "AND (k.topic IS NULL OR c.topic = k.topic) "
    "AND (c.expires_at IS NULL OR c.expires_at > now()) "
    "ORDER BY c.created_at DESC LIMIT 1) AS e",
    "idx_exercise_cache_lookup"};

// $1 batch size. Deletes up to $1 expired entries, oldest expiry first.
// "id = ANY(ARRAY(...))" makes the batch an InitPlan probed through the
// primary key; "id IN (...)" let the planner hash-join against a sequential
// scan of the whole cache (caught by indexes_pgtest).
inline constexpr NamedQuery kPurgeExpiredExercises{
    "purge_expired_exercises",
    "DELETE FROM exercise_cache WHERE id = ANY(ARRAY("
    "SELECT id FROM exercise_cache WHERE expires_at <= now() ORDER BY "
    "expires_at LIMIT $1))",
    "idx_exercise_cache_expires"};

// The columns of an ai_annotation_items row as the stores read them, then
// the keyset sort keys as PostgreSQL prints them (created_at, confidence):
// they go back into the next page's query unchanged.
#define AVES_ANNOTATION_COLUMNS \
  "id::text, job_id::text, image_id::text, spanish_term, english_term, " \
  "bounding_box::text, annotation_type, difficulty_level, confidence, "  \
  "status, " AVES_EPOCH_US("created_at") ", " AVES_EPOCH_US(           \
      "reviewed_at") ", reviewed_by, "                                    \
  "created_at::text AS created_at_key, confidence::text AS confidence_key"

// The columns of a batch_jobs row, then created_at as text (the cursor),
// then who created it.
#define AVES_JOB_COLUMNS \
  "id::text, job_type, status, total_items, processed_items, failed_items, " \
  "metadata::text, " AVES_EPOCH_US("created_at") ", " AVES_EPOCH_US(       \
      "started_at") ", " AVES_EPOCH_US("completed_at") ", " AVES_EPOCH_US(  \
      "updated_at") ", "                                                     \
  "created_at::text AS created_at_key, created_by"

// $1 image_id, $2 min confidence, keyset ($3 confidence, $4 id) of the last
// row seen (first page: 2, 'ffffffff-ffff-ffff-ffff-ffffffffffff'), $5 limit.
inline constexpr NamedQuery kListImageAnnotations{
    "list_image_annotations",
    "SELECT " AVES_ANNOTATION_COLUMNS
    " FROM ai_annotation_items "
    "WHERE image_id = $1 AND confidence >= $2 "
    "AND confidence <= $3 AND (confidence < $3 OR id < $4) "
    "ORDER BY confidence DESC, id DESC LIMIT $5",
    "idx_ai_annotations_image"};

// $1 status, keyset ($2 created_at, $3 id) (first page: 'infinity', max id), $4
// limit.
inline constexpr NamedQuery kListAnnotationsByStatus{
    "list_annotations_by_status",
    "SELECT " AVES_ANNOTATION_COLUMNS
    " FROM ai_annotation_items "
    "WHERE status = $1 AND status IN ('pending', 'approved', 'rejected', "
    "'edited') "
    "AND created_at <= $2 AND (created_at < $2 OR id < $3) "
    "ORDER BY created_at DESC, id DESC LIMIT $4",
    "idx_ai_annotations_status"};

// $1 statuses (text[]), keyset ($2 created_at, $3 id), $4 limit. One ordered
// index range per status, merged: an IN list over (status, created_at DESC)
// would need a sort of every matching row instead.
inline constexpr NamedQuery kListJobsByStatuses{
    "list_jobs_by_statuses",
    "SELECT " AVES_JOB_COLUMNS
    " FROM unnest($1::text[]) AS s(wanted) CROSS JOIN LATERAL ("
    "SELECT * FROM batch_jobs "
    "WHERE batch_jobs.status = s.wanted "
    "AND batch_jobs.status IN ('pending', 'processing', 'completed', 'failed', "
    "'cancelled') "
    "AND created_at <= $2 AND (created_at < $2 OR id < $3) "
    "ORDER BY created_at DESC, id DESC LIMIT $4) AS j "
    "ORDER BY j.created_at DESC, j.id DESC LIMIT $4",
    "idx_batch_jobs_status"};

// $1 statuses (text[]), $2 job_type, keyset ($3 created_at, $4 id), $5 limit.
inline constexpr NamedQuery kListJobsByTypeAndStatuses{
    "list_jobs_by_type_and_statuses",
    "SELECT " AVES_JOB_COLUMNS
    " FROM unnest($1::text[]) AS s(wanted) CROSS JOIN LATERAL ("
    "SELECT * FROM batch_jobs "
    "WHERE batch_jobs.job_type = $2 AND batch_jobs.status = s.wanted "
    "AND created_at <= $3 AND (created_at < $3 OR id < $4) "
    "ORDER BY created_at DESC, id DESC LIMIT $5) AS j "
    "ORDER BY j.created_at DESC, j.id DESC LIMIT $5",
    "idx_batch_jobs_type"};

// $1 job_id, keyset ($2 created_at, $3 id) (first page: 'infinity', max
// bigint), $4 limit.
inline constexpr NamedQuery kListJobErrors{
    "list_job_errors",
    "SELECT id, job_id::text, item_index, item_id, error_message, "
    AVES_EPOCH_US("created_at") ", "
    "created_at::text AS created_at_key FROM "
    "batch_job_errors "
    "WHERE job_id = $1 AND created_at <= $2 AND (created_at < $2 OR id < $3) "
    "ORDER BY created_at DESC, id DESC LIMIT $4",
    "idx_batch_job_errors_job"};

// $1 user_id, $2 exercise_type, $3 difficulty_level, $4 topic (NULL for
// none), $5 exercise_data (JSON text), $6 ttl in microseconds (NULL: never
// expires). Not index-backed: an insert.
inline constexpr NamedQuery kInsertExercise{
    "insert_exercise",
    "INSERT INTO exercise_cache (user_id, exercise_type, difficulty_level, "
    "topic, exercise_data, "
    "expires_at) VALUES ($1, $2, $3, $4, $5::jsonb, now() + $6::int8 * "
    "interval '1 microsecond') "
    "RETURNING " AVES_EXERCISE_COLUMNS,
    ""};

// $1 id, $2 new status, $3 reviewer, edits ($4 spanish_term, $5 english_term,
// $6 bounding_box JSON, $7 annotation_type, $8 difficulty_level: NULL keeps
// the current value), $9 the status the reviewer expects. No row back when
// the item is not (or no longer) in $9: under READ COMMITTED a concurrent
// review waits for the row lock, then re-checks $9 against the new row, so
// only one of two concurrent reviews matches.
inline constexpr NamedQuery kReviewAnnotation{
    "review_annotation",
    "UPDATE ai_annotation_items SET status = $2, reviewed_at = now(), "
    "reviewed_by = $3, spanish_term = COALESCE($4, spanish_term), "
    "english_term = COALESCE($5, english_term), "
    "bounding_box = COALESCE($6::jsonb, bounding_box), "
    "annotation_type = COALESCE($7, annotation_type), "
    "difficulty_level = COALESCE($8::int4, difficulty_level) "
    "WHERE id = $1 AND status = $9 RETURNING " AVES_ANNOTATION_COLUMNS,
    ""};

// $1 id.
inline constexpr NamedQuery kGetJob{
    "get_job", "SELECT " AVES_JOB_COLUMNS " FROM batch_jobs WHERE id = $1",
    "batch_jobs_pkey"};

// $1 job_type, $2 total_items, $3 metadata (JSON text), $4 created_by
// (NULL: no authenticated caller). No row back when the metadata is not a
// JSON object.
inline constexpr NamedQuery kCreateJob{
    "create_job",
    "INSERT INTO batch_jobs (job_type, total_items, metadata, created_by) "
    "SELECT $1, $2, m, $4 FROM (SELECT $3::jsonb AS m) AS given "
    "WHERE jsonb_typeof(m) = 'object' RETURNING " AVES_JOB_COLUMNS,
    ""};

// $1 id, $2 status, $3 processed delta, $4 failed delta, $5 total (NULL: keep),
// $6 a JSON object merged into the metadata (NULL: keep). started_at is set
// on entering 'processing', completed_at on a final status. The caller has
// checked the transition under FOR UPDATE in the same transaction.
inline constexpr NamedQuery kUpdateJobProgress{
    "update_job_progress",
    "UPDATE batch_jobs SET status = $2, "
    "processed_items = processed_items + $3, failed_items = failed_items + $4, "
    "total_items = COALESCE($5, total_items), "
    "metadata = metadata || COALESCE($6::jsonb, '{}'), "
    "started_at = CASE WHEN $2 = 'processing' AND started_at IS NULL "
    "THEN now() ELSE started_at END, "
    "completed_at = CASE WHEN $2 IN ('completed', 'failed', 'cancelled') "
    "THEN coalesce(completed_at, now()) ELSE completed_at END "
    "WHERE id = $1 RETURNING " AVES_JOB_COLUMNS,
    ""};

// $1 job_id, $2 item indexes (int8[]), $3 item ids (text[]), $4 messages
// (text[]): one row per array position.
inline constexpr NamedQuery kAppendJobErrors{
    "append_job_errors",
    "INSERT INTO batch_job_errors (job_id, item_index, item_id, "
    "error_message) "
    "SELECT $1, e.item_index, e.item_id, e.error_message "
    "FROM unnest($2::int8[], $3::text[], $4::text[]) "
    "AS e(item_index, item_id, error_message)",
    ""};

// $1 ids (uuid[]): the rows WatchJobs reports after their notifications.
inline constexpr NamedQuery kGetJobs{
    "get_jobs",
    "SELECT " AVES_JOB_COLUMNS " FROM batch_jobs WHERE id = ANY($1::uuid[])",
    "batch_jobs_pkey"};

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_QUERIES_H_
