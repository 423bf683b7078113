#include "server/handlers/proto_convert.h"

#include <algorithm>

#include <absl/strings/str_cat.h>
#include <google/protobuf/util/time_util.h>

#include "server/common/field_error.h"
#include "server/store/timestamps.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;
using google::protobuf::util::TimeUtil;

namespace {

struct AnnotationStatusName {
  v1::AnnotationStatus status;
  const char* text;
};
constexpr AnnotationStatusName kAnnotationStatuses[] = {
    {v1::ANNOTATION_STATUS_PENDING, "pending"},
    {v1::ANNOTATION_STATUS_APPROVED, "approved"},
    {v1::ANNOTATION_STATUS_REJECTED, "rejected"},
    {v1::ANNOTATION_STATUS_EDITED, "edited"},
};

struct JobStatusPair {
  v1::JobStatus api;
  store::JobStatus store;
};
constexpr JobStatusPair kJobStatuses[] = {
    {v1::JOB_STATUS_PENDING, store::JobStatus::kPending},
    {v1::JOB_STATUS_PROCESSING, store::JobStatus::kProcessing},
    {v1::JOB_STATUS_COMPLETED, store::JobStatus::kCompleted},
    {v1::JOB_STATUS_FAILED, store::JobStatus::kFailed},
    {v1::JOB_STATUS_CANCELLED, store::JobStatus::kCancelled},
};

void ToProto(const observability::LatencySummary& summary,
             v1::LatencySummary* out) {
  out->set_count(summary.count);
  *out->mutable_p50() = ToDuration(summary.p50);
  *out->mutable_p95() = ToDuration(summary.p95);
  *out->mutable_p99() = ToDuration(summary.p99);
  *out->mutable_max() = ToDuration(summary.max);
}

void ToProto(const bulk::LoadProgress& progress, v1::InsertProgress* out) {
  out->set_committed_offset(progress.committed_offset);
  out->set_rows_inserted(progress.rows_inserted);
  out->set_rows_updated(progress.rows_updated);
  out->set_rows_failed(progress.rows_failed);
  out->set_batches_committed(progress.batches_committed);
}

}  // namespace

// TimeUtil aborts the process on a value outside google.protobuf's ranges.
// The stores hand over only times inside it (store/timestamps.h); clamping
// here keeps any other value from taking avesd down.
google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  constexpr int64_t kMinMicros = store::kApiMinUnixSeconds * 1'000'000;
  constexpr int64_t kMaxMicros = store::kApiEndUnixSeconds * 1'000'000 - 1;
  return TimeUtil::MicrosecondsToTimestamp(
      std::clamp(absl::ToUnixMicros(time), kMinMicros, kMaxMicros));
}

google::protobuf::Duration ToDuration(absl::Duration duration) {
  // google.protobuf.Duration spans +-10,000 years.
  constexpr int64_t kMaxMicros = int64_t{315'576'000'000} * 1'000'000;
  return TimeUtil::MicrosecondsToDuration(
      std::clamp(absl::ToInt64Microseconds(duration), -kMaxMicros, kMaxMicros));
}

absl::StatusOr<std::string> AnnotationStatusText(absl::string_view field,
                                                 v1::AnnotationStatus status) {
  for (const AnnotationStatusName& name : kAnnotationStatuses) {
    if (name.status == status) return std::string(name.text);
  }
  return common::InvalidField(
      field, status == v1::ANNOTATION_STATUS_UNSPECIFIED
                 ? "required"
                 : absl::StrCat("unknown status ", static_cast<int>(status)));
}

v1::AnnotationStatus AnnotationStatusFromText(absl::string_view text) {
  for (const AnnotationStatusName& name : kAnnotationStatuses) {
    if (text == name.text) return name.status;
  }
  return v1::ANNOTATION_STATUS_UNSPECIFIED;
}

absl::StatusOr<store::JobStatus> JobStatusFromProto(absl::string_view field,
                                                    v1::JobStatus status) {
  for (const JobStatusPair& pair : kJobStatuses) {
    if (pair.api == status) return pair.store;
  }
  return common::InvalidField(
      field, status == v1::JOB_STATUS_UNSPECIFIED
                 ? "required"
                 : absl::StrCat("unknown status ", static_cast<int>(status)));
}

v1::JobStatus ToProto(store::JobStatus status) {
  for (const JobStatusPair& pair : kJobStatuses) {
    if (pair.store == status) return pair.api;
  }
  return v1::JOB_STATUS_UNSPECIFIED;
}

void ToProto(const store::Annotation& a, v1::Annotation* out) {
  out->set_id(a.id);
  if (a.job_id) out->set_job_id(*a.job_id);
  out->set_image_id(a.image_id);
  out->set_spanish_term(a.spanish_term);
  out->set_english_term(a.english_term);
  out->set_bounding_box(a.bounding_box);
  out->set_annotation_type(a.annotation_type);
  if (a.difficulty_level) out->set_difficulty_level(*a.difficulty_level);
  out->set_confidence(a.confidence);
  out->set_status(AnnotationStatusFromText(a.status));
  *out->mutable_created_at() = ToTimestamp(a.created_at);
  if (a.reviewed_at) *out->mutable_reviewed_at() = ToTimestamp(*a.reviewed_at);
  if (a.reviewed_by) out->set_reviewed_by(*a.reviewed_by);
}

void ToProto(const store::Job& job, v1::Job* out) {
  out->set_id(job.id);
  out->set_job_type(job.job_type);
  out->set_status(ToProto(job.status));
  out->set_total_items(job.total_items);
  out->set_processed_items(job.processed_items);
  out->set_failed_items(job.failed_items);
  out->set_metadata(job.metadata);
  *out->mutable_created_at() = ToTimestamp(job.created_at);
  if (job.started_at) *out->mutable_started_at() = ToTimestamp(*job.started_at);
  if (job.completed_at)
    *out->mutable_completed_at() = ToTimestamp(*job.completed_at);
  *out->mutable_updated_at() = ToTimestamp(job.updated_at);
  if (job.created_by.has_value()) out->set_created_by(*job.created_by);
}

void ToProto(const store::JobError& error, v1::JobError* out) {
  out->set_id(error.id);
  out->set_job_id(error.job_id);
  if (error.item_index.has_value()) out->set_item_index(*error.item_index);
  if (error.item_id.has_value()) out->set_item_id(*error.item_id);
  out->set_error_message(error.error_message);
  *out->mutable_created_at() = ToTimestamp(error.created_at);
}

void ToProto(const store::JobChange& change, v1::WatchJobsResponse* out) {
  switch (change.kind) {
    case store::JobChange::Kind::kCreated:
      out->set_type(v1::JOB_EVENT_TYPE_CREATED);
      ToProto(change.job, out->mutable_job());
      break;
    case store::JobChange::Kind::kUpdated:
      out->set_type(v1::JOB_EVENT_TYPE_UPDATED);
      ToProto(change.job, out->mutable_job());
      break;
    case store::JobChange::Kind::kDeleted:
      // Only what the notification carried: the row is gone.
      out->set_type(v1::JOB_EVENT_TYPE_DELETED);
      out->mutable_job()->set_id(change.job.id);
      out->mutable_job()->set_job_type(change.job.job_type);
      out->mutable_job()->set_status(ToProto(change.job.status));
      break;
  }
}

void ToProto(const store::ExerciseEntry& entry, v1::Exercise* out) {
  out->set_id(entry.id);
  out->set_user_id(entry.user_id);
  out->set_exercise_type(entry.exercise_type);
  out->set_difficulty_level(entry.difficulty_level);
  if (entry.topic.has_value()) out->set_topic(*entry.topic);
  out->set_exercise_data(entry.exercise_data);
  *out->mutable_created_at() = ToTimestamp(entry.created_at);
  if (entry.expires_at.has_value()) {
    *out->mutable_expires_at() = ToTimestamp(*entry.expires_at);
  }
}

void ToProto(const db::PoolStats& stats, v1::GetPoolStatsResponse* out) {
  out->set_total(stats.total);
  out->set_idle(stats.idle);
  out->set_in_use(stats.in_use);
  out->set_waiting(stats.waiting);
  out->set_opening(stats.opening);
  out->set_min(stats.min);
  out->set_max(stats.max);
  *out->mutable_oldest_waiter_age() = ToDuration(stats.oldest_waiter_age);
  out->set_database_reachable(stats.database_reachable);
  out->set_last_connect_error(stats.last_connect_error);
  out->set_connections_opened(stats.opened);
  out->set_connect_failures(stats.connect_failures);
  out->set_connections_closed(stats.closed);
  for (const auto& [reason, count] : stats.discarded) {
    (*out->mutable_discarded_by_reason())[reason] = count;
  }
  out->set_acquired(stats.acquired);
  out->set_acquire_timeouts(stats.acquire_timeouts);
  out->set_rejected_full(stats.rejected_full);
  out->set_rejected_unavailable(stats.rejected_unavailable);
  out->set_cancels(stats.cancels);
  out->set_aborts(stats.aborts);
  out->set_lease_warnings(stats.lease_warnings);
  for (const auto& [code, count] : stats.errors)
    (*out->mutable_errors_by_code())[code] = count;
  out->set_errors_last_minute(stats.errors_last_minute);
  ToProto(stats.acquire_wait, out->mutable_acquire_wait());
  ToProto(stats.query_time, out->mutable_query_time());
}

void ToProto(const db::SchemaStatus& status,
             v1::GetMigrationStatusResponse* out) {
  for (const db::MigrationState& state : status.migrations) {
    v1::Migration* migration = out->add_migrations();
    migration->set_version(state.file.version);
    migration->set_name(state.file.name);
    migration->set_checksum(state.file.checksum);
    migration->set_no_transaction(state.file.no_transaction);
    migration->set_applied(state.applied.has_value());
    migration->set_checksum_mismatch(state.checksum_mismatch());
    if (state.applied.has_value()) {
      *migration->mutable_applied_at() = ToTimestamp(state.applied->applied_at);
      migration->set_duration_ms(state.applied->duration_ms);
    }
  }
  out->set_schema_current(status.current());
}

void ToProto(const std::vector<store::IndexCheck>& checks,
             v1::VerifyIndexesResponse* out) {
  bool all_passed = true;
  bool all_chosen = true;
  for (const store::IndexCheck& check : checks) {
    v1::IndexCheck* one = out->add_checks();
    one->set_query(check.query);
    one->set_plan_mode(check.plan_mode);
    one->set_intended_index(check.intended_index);
    for (const std::string& index : check.plan_indexes)
      one->add_plan_indexes(index);
    one->set_passed(check.can_use);
    one->set_can_use_index(check.can_use);
    one->set_chosen_at_current_size(check.chosen);
    one->set_plan(check.plan);
    one->set_forced_plan(check.forced_plan);
    all_passed &= check.can_use;
    all_chosen &= check.chosen;
  }
  out->set_all_passed(all_passed);
  out->set_all_chosen(all_chosen);
}

bulk::LoadRequest FromProto(const v1::InsertHeader& header) {
  bulk::LoadRequest request;
  request.load_id = header.load_id();
  request.table = header.table();
  request.columns.assign(header.columns().begin(), header.columns().end());
  switch (header.mode()) {
    case v1::INSERT_MODE_INSERT:
      request.mode = bulk::LoadMode::kInsert;
      break;
    case v1::INSERT_MODE_UPSERT:
      request.mode = bulk::LoadMode::kUpsert;
      break;
    case v1::INSERT_MODE_RETURNING:
      request.mode = bulk::LoadMode::kReturning;
      break;
    default:
      request.unknown_mode = header.mode() != v1::INSERT_MODE_UNSPECIFIED;
  }
  request.conflict_columns.assign(header.conflict_columns().begin(),
                                  header.conflict_columns().end());
  request.update_columns.assign(header.update_columns().begin(),
                                header.update_columns().end());
  request.returning_columns.assign(header.returning_columns().begin(),
                                   header.returning_columns().end());
  request.atomic = header.atomic();
  request.batch_size = header.batch_size();
  request.total_rows = header.total_rows();
  if (header.has_max_errors()) request.max_errors = header.max_errors();
  return request;
}

bulk::CellValue FromProto(const v1::Cell& cell) {
  using bulk::CellValue;
  switch (cell.value_case()) {
    case v1::Cell::kNullValue:
      return CellValue::Null();
    case v1::Cell::kBoolValue:
      return CellValue::Bool(cell.bool_value());
    case v1::Cell::kInt64Value:
      return CellValue::Int64(cell.int64_value());
    case v1::Cell::kDoubleValue:
      return CellValue::Double(cell.double_value());
    case v1::Cell::kStringValue:
      return CellValue::String(cell.string_value());
    case v1::Cell::kBytesValue:
      return CellValue::Text(CellValue::Type::kBytes, cell.bytes_value());
    case v1::Cell::kTimestampValue:
      return CellValue::Timestamp(
          absl::FromUnixSeconds(cell.timestamp_value().seconds()) +
          absl::Nanoseconds(cell.timestamp_value().nanos()));
    case v1::Cell::kUuidValue:
      return CellValue::Uuid(cell.uuid_value());
    case v1::Cell::kJsonValue:
      return CellValue::Json(cell.json_value());
    case v1::Cell::VALUE_NOT_SET:
      break;
  }
  return CellValue::Missing();
}

void ToProto(const bulk::LoadMessage& message, v1::InsertResponse* out) {
  out->Clear();
  switch (message.kind) {
    case bulk::LoadMessage::Kind::kProgress:
      ToProto(message.progress, out->mutable_progress());
      break;
    case bulk::LoadMessage::Kind::kReturned: {
      v1::ReturnedRows* rows = out->mutable_returned();
      if (!message.returned.empty())
        rows->set_first_row(message.returned.front().index);
      for (const bulk::ReturnedRow& returned : message.returned) {
        rows->add_row_numbers(returned.index);
        v1::Row* row = rows->add_rows();
        for (const std::optional<std::string>& value : returned.values) {
          if (value.has_value()) {
            row->add_cells()->set_string_value(*value);
          } else {
            row->add_cells()->set_null_value({});
          }
        }
      }
      break;
    }
    case bulk::LoadMessage::Kind::kSummary:
      out->mutable_summary()->set_load_id(message.load_id);
      out->mutable_summary()->set_job_id(message.job_id);
      ToProto(message.progress, out->mutable_summary()->mutable_totals());
      out->mutable_summary()->mutable_load_totals()->set_rows_inserted(
          message.load_totals.rows_inserted);
      out->mutable_summary()->mutable_load_totals()->set_rows_updated(
          message.load_totals.rows_updated);
      out->mutable_summary()->mutable_load_totals()->set_rows_failed(
          message.load_totals.rows_failed);
      break;
  }
}

}  // namespace aves::handlers

namespace aves::handlers {

void ToProto(const db::SlowQuery& query, v1::SlowQuery* out) {
  *out->mutable_finished_at() = ToTimestamp(query.finished_at);
  out->set_query(query.query);
  out->set_rpc(query.rpc);
  *out->mutable_duration() = ToDuration(query.duration);
  out->set_rows(query.rows);
  out->set_failed(query.failed);
  out->set_plan(query.plan);
  if (query.plan_taken_at != absl::InfinitePast()) {
    *out->mutable_plan_taken_at() = ToTimestamp(query.plan_taken_at);
  }
}

void ToProto(const store::QueryStatsWindow& window,
             v1::GetQueryStatsResponse* out) {
  *out->mutable_window_start() = ToTimestamp(window.start);
  *out->mutable_window_end() = ToTimestamp(window.end);
  for (const store::QueryStat& stat : window.statements) {
    v1::QueryStat* item = out->add_statements();
    item->set_query(stat.name);
    item->set_text(stat.text);
    item->set_query_id(stat.query_id);
    item->set_calls(stat.calls);
    *item->mutable_total_time() = ToDuration(stat.total_time);
    *item->mutable_mean_time() = ToDuration(
        stat.calls > 0 ? stat.total_time / stat.calls : absl::ZeroDuration());
    item->set_rows(stat.rows);
    const int64_t blocks = stat.blocks_hit + stat.blocks_read;
    item->set_cache_hit_ratio(
        blocks > 0 ? static_cast<double>(stat.blocks_hit) / blocks : 1.0);
  }
}

}  // namespace aves::handlers
