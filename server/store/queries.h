// The named SQL of every index-backed read the service runs. One definition
// serves the stores, the index-proof tests and (later) VerifyIndexes, so what
// is proven to use an index is exactly what runs.
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

// The columns of an exercise_cache row as the stores read them: ids as text,
// JSON as text, timestamps as Unix microseconds (independent of the
// session's TimeZone).
#define AVES_EXERCISE_COLUMNS                                               \
  "id::text, user_id::text, exercise_type, difficulty_level, topic, "       \
  "exercise_data::text, (extract(epoch FROM created_at) * 1000000)::int8, " \
  "(extract(epoch FROM expires_at) * 1000000)::int8"

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

// $1 image_id, $2 min confidence, keyset ($3 confidence, $4 id) of the last
// row seen (first page: 2, 'ffffffff-ffff-ffff-ffff-ffffffffffff'), $5 limit.
inline constexpr NamedQuery kListImageAnnotations{
    "list_image_annotations",
    "SELECT id, job_id, image_id, spanish_term, english_term, "
    "bounding_box::text, "
    "annotation_type, difficulty_level, confidence, status, created_at, "
    "reviewed_at, "
    "reviewed_by FROM ai_annotation_items "
    "WHERE image_id = $1 AND confidence >= $2 "
    "AND confidence <= $3 AND (confidence < $3 OR id < $4) "
    "ORDER BY confidence DESC, id DESC LIMIT $5",
    "idx_ai_annotations_image"};

// $1 status, keyset ($2 created_at, $3 id) (first page: 'infinity', max id), $4
// limit.
inline constexpr NamedQuery kListAnnotationsByStatus{
    "list_annotations_by_status",
    "SELECT id, job_id, image_id, spanish_term, english_term, "
    "bounding_box::text, "
    "annotation_type, difficulty_level, confidence, status, created_at, "
    "reviewed_at, "
    "reviewed_by FROM ai_annotation_items "
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
    "SELECT j.* FROM unnest($1::text[]) AS s(status) CROSS JOIN LATERAL ("
    "SELECT id, job_type, status, total_items, processed_items, failed_items, "
    "metadata::text, "
    "created_at, started_at, completed_at, updated_at FROM batch_jobs "
    "WHERE batch_jobs.status = s.status "
    "AND batch_jobs.status IN ('pending', 'processing', 'completed', 'failed', "
    "'cancelled') "
    "AND created_at <= $2 AND (created_at < $2 OR id < $3) "
    "ORDER BY created_at DESC, id DESC LIMIT $4) AS j "
    "ORDER BY j.created_at DESC, j.id DESC LIMIT $4",
    "idx_batch_jobs_status"};

// $1 statuses (text[]), $2 job_type, keyset ($3 created_at, $4 id), $5 limit.
inline constexpr NamedQuery kListJobsByTypeAndStatuses{
    "list_jobs_by_type_and_statuses",
    "SELECT j.* FROM unnest($1::text[]) AS s(status) CROSS JOIN LATERAL ("
    "SELECT id, job_type, status, total_items, processed_items, failed_items, "
    "metadata::text, "
    "created_at, started_at, completed_at, updated_at FROM batch_jobs "
    "WHERE batch_jobs.job_type = $2 AND batch_jobs.status = s.status "
    "AND created_at <= $3 AND (created_at < $3 OR id < $4) "
    "ORDER BY created_at DESC, id DESC LIMIT $5) AS j "
    "ORDER BY j.created_at DESC, j.id DESC LIMIT $5",
    "idx_batch_jobs_type"};

// $1 job_id, keyset ($2 created_at, $3 id) (first page: 'infinity', max
// bigint), $4 limit.
inline constexpr NamedQuery kListJobErrors{
    "list_job_errors",
    "SELECT id, job_id::text, item_index, item_id, error_message, "
    "(extract(epoch FROM created_at) * 1000000)::int8, created_at::text FROM "
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

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_QUERIES_H_
