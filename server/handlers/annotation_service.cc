#include "server/handlers/annotation_service.h"

#include <string>

#include <absl/strings/str_cat.h>

#include "server/common/field_error.h"
#include "server/common/status_macros.h"
#include "server/common/validation.h"
#include "server/handlers/call_context.h"
#include "server/handlers/proto_convert.h"
#include "server/handlers/unparsable_request.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;

namespace {

constexpr char kImageList[] = "image_annotations";
constexpr char kStatusList[] = "annotations_by_status";
constexpr char kListImage[] = "AnnotationService.ListImageAnnotations";
constexpr char kListStatus[] = "AnnotationService.ListAnnotationsByStatus";
constexpr char kReview[] = "AnnotationService.ReviewAnnotation";

using Self = AnnotationServiceImpl;

absl::Status ValidateConfidence(absl::string_view field, float value) {
  if (!(value >= 0.0f && value <= 1.0f)) {  // NaN fails too
    return common::InvalidField(field,
                                absl::StrCat(value, " is outside [0, 1]"));
  }
  return absl::OkStatus();
}

// The decision and edits of a review, checked field by field.
// `reviewer`: who the review is recorded under (the request's field, or
// the authenticated caller).
absl::StatusOr<store::Review> ReviewOf(
    const v1::ReviewAnnotationRequest& request, const std::string& reviewer) {
  store::Review review;
  RETURN_IF_ERROR(common::ValidateUuid("id", request.id(), &review.id));
  switch (request.decision()) {
    case v1::REVIEW_DECISION_APPROVE:
      review.new_status = "approved";
      break;
    case v1::REVIEW_DECISION_REJECT:
      review.new_status = "rejected";
      break;
    case v1::REVIEW_DECISION_EDIT:
      review.new_status = "edited";
      break;
    default:
      return common::InvalidField(
          "decision", request.decision() == v1::REVIEW_DECISION_UNSPECIFIED
                          ? "required"
                          : absl::StrCat("unknown decision ",
                                         static_cast<int>(request.decision())));
  }
  RETURN_IF_ERROR(common::ValidateText("reviewer", reviewer,
                                       Self::kMaxReviewerBytes, true));
  review.reviewer = reviewer;
  ASSIGN_OR_RETURN(
      review.expected_status,
      AnnotationStatusText("expected_status", request.expected_status()));
  const bool edits = request.has_spanish_term() || request.has_english_term() ||
                     request.has_bounding_box() ||
                     request.has_annotation_type() ||
                     request.has_difficulty_level();
  if (review.new_status == "edited" && !edits) {
    return common::InvalidField(
        "decision",
        "EDIT needs at least one edited field (spanish_term, "
        "english_term, bounding_box, annotation_type, "
        "difficulty_level)");
  }
  if (review.new_status != "edited" && edits) {
    return common::InvalidField(
        "decision",
        "only EDIT may change fields; use EDIT or leave them "
        "unset");
  }
  common::FieldChecks checks;
  if (request.has_spanish_term()) {
    checks.Add(common::ValidateText("spanish_term", request.spanish_term(),
                                    Self::kMaxTermBytes, true));
    review.spanish_term = request.spanish_term();
  }
  if (request.has_english_term()) {
    checks.Add(common::ValidateText("english_term", request.english_term(),
                                    Self::kMaxTermBytes, true));
    review.english_term = request.english_term();
  }
  if (request.has_bounding_box()) {
    checks.Add(common::ValidateJson("bounding_box", request.bounding_box(),
                                    Self::kMaxBoundingBoxBytes,
                                    common::JsonShape::kObjectOrArray, true));
    review.bounding_box = request.bounding_box();
  }
  if (request.has_annotation_type()) {
    checks.Add(common::ValidateText("annotation_type",
                                    request.annotation_type(),
                                    Self::kMaxAnnotationTypeBytes, true));
    review.annotation_type = request.annotation_type();
  }
  if (request.has_difficulty_level()) {
    checks.Add(common::ValidateRange("difficulty_level",
                                     request.difficulty_level(), 1, 5));
    review.difficulty_level = request.difficulty_level();
  }
  RETURN_IF_ERROR(checks.status());
  return review;
}

// Fills a list response from a page of annotations; the row count.
template <typename Response>
int64_t Respond(const store::AnnotationPage& page, std::string next_token,
                Response* response) {
  for (const store::Annotation& annotation : page.annotations)
    ToProto(annotation, response->add_annotations());
  response->set_next_page_token(std::move(next_token));
  return static_cast<int64_t>(page.annotations.size());
}

}  // namespace

void AnnotationServiceImpl::RegisterParseChecked() {
  using Service = v1::AnnotationService;
  AVES_PARSE_CHECKED_UNARY(Service, AnnotationServiceImpl,
                           ListImageAnnotations);
  AVES_PARSE_CHECKED_UNARY(Service, AnnotationServiceImpl,
                           ListAnnotationsByStatus);
  AVES_PARSE_CHECKED_UNARY(Service, AnnotationServiceImpl, ReviewAnnotation);
}

grpc::ServerUnaryReactor* AnnotationServiceImpl::ListImageAnnotations(
    grpc::CallbackServerContext* context,
    const v1::ListImageAnnotationsRequest* request,
    v1::ListImageAnnotationsResponse* response) {
  return OffloadLogged(handler_, context, kListImage, [=](int64_t* rows) {
    std::string image_id;
    RETURN_IF_ERROR(
        common::ValidateUuid("image_id", request->image_id(), &image_id));
    float min_confidence = 0;
    if (request->has_min_confidence()) {
      RETURN_IF_ERROR(
          ValidateConfidence("min_confidence", request->min_confidence()));
      min_confidence = request->min_confidence();
    }
    // The token is bound to the image and the threshold it was issued for.
    const PagedList list(
        tokens_, kImageList,
        absl::StrCat(image_id, "/", request->has_min_confidence() ? 1 : 0, "/",
                     min_confidence));
    ASSIGN_OR_RETURN(const PageRequest page_request,
                     list.Read(request->page_size(), request->page_token()));
    ASSIGN_OR_RETURN(const store::AnnotationPage page,
                     store_.ListByImage(CallContextOf(context, kListImage),
                                        image_id, min_confidence,
                                        page_request.after, page_request.size));
    *rows = Respond(page, list.NextToken(page.more, page.last), response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AnnotationServiceImpl::ListAnnotationsByStatus(
    grpc::CallbackServerContext* context,
    const v1::ListAnnotationsByStatusRequest* request,
    v1::ListAnnotationsByStatusResponse* response) {
  return OffloadLogged(handler_, context, kListStatus, [=](int64_t* rows) {
    ASSIGN_OR_RETURN(const std::string status,
                     AnnotationStatusText("status", request->status()));
    const PagedList list(tokens_, kStatusList, status);
    ASSIGN_OR_RETURN(const PageRequest page_request,
                     list.Read(request->page_size(), request->page_token()));
    ASSIGN_OR_RETURN(
        const store::AnnotationPage page,
        store_.ListByStatus(CallContextOf(context, kListStatus), status,
                            page_request.after, page_request.size));
    *rows = Respond(page, list.NextToken(page.more, page.last), response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AnnotationServiceImpl::ReviewAnnotation(
    grpc::CallbackServerContext* context,
    const v1::ReviewAnnotationRequest* request,
    v1::ReviewAnnotationResponse* response) {
  // With authentication the reviewer is the caller: a request naming
  // someone else is refused, not rewritten, so a tool that sends the wrong
  // name finds out.
  const std::shared_ptr<const auth::Caller> caller = GatedCaller();
  return OffloadLogged(handler_, context, kReview, [=](int64_t* rows) {
    std::string reviewer = request->reviewer();
    if (caller != nullptr) {
      if (!reviewer.empty() && reviewer != caller->subject) {
        return absl::PermissionDeniedError(absl::StrCat(
            "reviewer: '", reviewer, "' is not the caller '", caller->subject,
            "'; reviews are recorded under the authenticated caller (leave "
            "reviewer empty)"));
      }
      reviewer = caller->subject;
    }
    ASSIGN_OR_RETURN(const store::Review review, ReviewOf(*request, reviewer));
    ASSIGN_OR_RETURN(
        const store::Annotation updated,
        store_.ApplyReview(CallContextOf(context, kReview), review));
    ToProto(updated, response->mutable_annotation());
    *rows = 1;
    return absl::OkStatus();
  });
}

}  // namespace aves::handlers
