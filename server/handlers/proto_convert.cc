#include "server/handlers/proto_convert.h"

#include <absl/strings/str_cat.h>
#include <google/protobuf/util/time_util.h>

#include "server/common/field_error.h"

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

struct JobStatusName {
  v1::JobStatus status;
  const char* text;
};
constexpr JobStatusName kJobStatuses[] = {
    {v1::JOB_STATUS_PENDING, "pending"},
    {v1::JOB_STATUS_PROCESSING, "processing"},
    {v1::JOB_STATUS_COMPLETED, "completed"},
    {v1::JOB_STATUS_FAILED, "failed"},
    {v1::JOB_STATUS_CANCELLED, "cancelled"},
};

}  // namespace

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
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

absl::StatusOr<std::string> JobStatusText(absl::string_view field,
                                          v1::JobStatus status) {
  for (const JobStatusName& name : kJobStatuses) {
    if (name.status == status) return std::string(name.text);
  }
  return common::InvalidField(
      field, status == v1::JOB_STATUS_UNSPECIFIED
                 ? "required"
                 : absl::StrCat("unknown status ", static_cast<int>(status)));
}

v1::AnnotationStatus AnnotationStatusFromText(absl::string_view text) {
  for (const AnnotationStatusName& name : kAnnotationStatuses) {
    if (text == name.text) return name.status;
  }
  return v1::ANNOTATION_STATUS_UNSPECIFIED;
}

v1::JobStatus JobStatusFromText(absl::string_view text) {
  for (const JobStatusName& name : kJobStatuses) {
    if (text == name.text) return name.status;
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
  out->set_status(JobStatusFromText(job.status));
  out->set_total_items(job.total_items);
  out->set_processed_items(job.processed_items);
  out->set_failed_items(job.failed_items);
  out->set_metadata(job.metadata);
  *out->mutable_created_at() = ToTimestamp(job.created_at);
  if (job.started_at) *out->mutable_started_at() = ToTimestamp(*job.started_at);
  if (job.completed_at)
    *out->mutable_completed_at() = ToTimestamp(*job.completed_at);
  *out->mutable_updated_at() = ToTimestamp(job.updated_at);
}

}  // namespace aves::handlers
