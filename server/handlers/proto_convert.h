// Store structs <-> API messages, and the API enums <-> the text the schema
// stores. One place, so every RPC renders a job or an annotation alike.
#ifndef AVES_SERVER_HANDLERS_PROTO_CONVERT_H_
#define AVES_SERVER_HANDLERS_PROTO_CONVERT_H_

#include <optional>
#include <string>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>
#include <google/protobuf/timestamp.pb.h>

#include "aves/data/v1/annotations.pb.h"
#include "aves/data/v1/batch_jobs.pb.h"
#include "server/store/annotation_store.h"
#include "server/store/job_store.h"

namespace aves::handlers {

google::protobuf::Timestamp ToTimestamp(absl::Time time);

// The schema's text for an API status; INVALID_ARGUMENT naming `field` for
// UNSPECIFIED or a number this build does not know.
absl::StatusOr<std::string> AnnotationStatusText(
    absl::string_view field, aves::data::v1::AnnotationStatus status);
absl::StatusOr<std::string> JobStatusText(absl::string_view field,
                                          aves::data::v1::JobStatus status);
aves::data::v1::AnnotationStatus AnnotationStatusFromText(
    absl::string_view text);
aves::data::v1::JobStatus JobStatusFromText(absl::string_view text);

void ToProto(const store::Annotation& annotation,
             aves::data::v1::Annotation* out);
void ToProto(const store::Job& job, aves::data::v1::Job* out);

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_PROTO_CONVERT_H_
