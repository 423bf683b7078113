// Plain structs of the layers below <-> API messages, and the API's enums
// <-> the values the schema stores. The one place every RPC renders a job,
// an annotation, an exercise, a pool figure or a bulk-load message, so they
// all look alike.
#ifndef AVES_SERVER_HANDLERS_PROTO_CONVERT_H_
#define AVES_SERVER_HANDLERS_PROTO_CONVERT_H_

#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "aves/data/v1/admin.pb.h"
#include "aves/data/v1/annotations.pb.h"
#include "aves/data/v1/batch_jobs.pb.h"
#include "aves/data/v1/bulk_insert.pb.h"
#include "aves/data/v1/exercise_cache.pb.h"
#include "server/bulk/copy_text.h"
#include "server/bulk/header.h"
#include "server/bulk/loader.h"
#include "server/db/migrator.h"
#include "server/db/pool.h"
#include "server/db/query_metrics.h"
#include "server/store/annotation_store.h"
#include "server/store/exercise_cache_store.h"
#include "server/store/index_verification.h"
#include "server/store/job_feed.h"
#include "server/store/job_status.h"
#include "server/store/job_store.h"
#include "server/store/query_stats.h"

namespace aves::handlers {

google::protobuf::Timestamp ToTimestamp(absl::Time time);
google::protobuf::Duration ToDuration(absl::Duration duration);

// The schema's text for an API annotation status; INVALID_ARGUMENT naming
// `field` for UNSPECIFIED or a number this build does not know.
absl::StatusOr<std::string> AnnotationStatusText(
    absl::string_view field, aves::data::v1::AnnotationStatus status);
aves::data::v1::AnnotationStatus AnnotationStatusFromText(
    absl::string_view text);

// The job status an API value names; INVALID_ARGUMENT naming `field` for
// UNSPECIFIED or a number this build does not know.
absl::StatusOr<store::JobStatus> JobStatusFromProto(
    absl::string_view field, aves::data::v1::JobStatus status);
aves::data::v1::JobStatus ToProto(store::JobStatus status);

void ToProto(const store::Annotation& annotation,
             aves::data::v1::Annotation* out);
void ToProto(const store::Job& job, aves::data::v1::Job* out);
void ToProto(const store::JobError& error, aves::data::v1::JobError* out);
// A change of the job feed as a WatchJobs event.
void ToProto(const store::JobChange& change,
             aves::data::v1::WatchJobsResponse* out);
void ToProto(const store::ExerciseEntry& entry, aves::data::v1::Exercise* out);

void ToProto(const db::PoolStats& stats,
             aves::data::v1::GetPoolStatsResponse* out);
void ToProto(const db::SchemaStatus& status,
             aves::data::v1::GetMigrationStatusResponse* out);
void ToProto(const db::SlowQuery& query, aves::data::v1::SlowQuery* out);
void ToProto(const store::QueryStatsWindow& window,
             aves::data::v1::GetQueryStatsResponse* out);
void ToProto(const std::vector<store::IndexCheck>& checks,
             aves::data::v1::VerifyIndexesResponse* out);

// The header of an Insert stream as the bulk path takes it.
bulk::LoadRequest FromProto(const aves::data::v1::InsertHeader& header);
// A cell as the bulk path's encoder takes it (an unset cell: kMissing).
bulk::CellValue FromProto(const aves::data::v1::Cell& cell);
void ToProto(const bulk::LoadMessage& message,
             aves::data::v1::InsertResponse* out);

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_PROTO_CONVERT_H_
