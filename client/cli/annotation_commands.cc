// annotations image | queue | review: AnnotationService.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <absl/strings/numbers.h>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/lib/annotation_client.h"
#include "client/lib/channel.h"

namespace aves::cli {
namespace {

namespace v1 = data::v1;

std::string StatusText(v1::AnnotationStatus status) {
  return EnumText(v1::AnnotationStatus_Name(status),
                  sizeof("ANNOTATION_STATUS_") - 1);
}

void PrintAnnotations(
    const google::protobuf::RepeatedPtrField<v1::Annotation>& annotations) {
  std::vector<std::vector<std::string>> rows = {
      {"id", "image", "spanish", "english", "type", "confidence", "status",
       "created at"}};
  for (const auto& a : annotations) {
    char confidence[16];
    std::snprintf(confidence, sizeof confidence, "%.3f", a.confidence());
    rows.push_back({a.id(), a.image_id(), a.spanish_term(), a.english_term(),
                    a.annotation_type(), confidence, StatusText(a.status()),
                    TimeText(a.created_at())});
  }
  PrintTable(rows);
}

// One page of an annotation list: JSON, or a table and the next page's token.
template <typename Page>
int PrintAnnotationPage(const absl::StatusOr<Page>& page, bool json) {
  if (!page.ok()) return PrintError(page.status());
  if (json) {
    PrintJson(*page);
  } else {
    PrintAnnotations(page->annotations());
    PrintNextPage(page->next_page_token());
  }
  return 0;
}

// --status / --expected as an annotation status.
bool StatusOption(const CommandOptions& options, const char* name,
                  v1::AnnotationStatus* status) {
  if (!options.Has(name)) return true;
  if (ParseEnumOption(options.Get(name), "ANNOTATION_STATUS_",
                      v1::AnnotationStatus_Parse, status)) {
    return true;
  }
  std::cerr << "error: --" << name
            << " wants pending, approved, rejected or edited\n";
  return false;
}

int Image(client::AnnotationClient& client, const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  if (!options.Only({"image", "min-confidence", "page-size", "page-token"}))
    return 2;
  v1::ListImageAnnotationsRequest request;
  request.set_image_id(options.Get("image"));
  if (options.Has("min-confidence")) {
    float min = 0;
    if (!absl::SimpleAtof(options.Get("min-confidence"), &min)) {
      std::cerr << "error: --min-confidence wants a number\n";
      return 2;
    }
    request.set_min_confidence(min);
  }
  if (!FillPage(options, &request)) return 2;
  return PrintAnnotationPage(client.ListImageAnnotations(request),
                             invocation.json);
}

int Queue(client::AnnotationClient& client, const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  if (!options.Only({"status", "page-size", "page-token"})) return 2;
  v1::ListAnnotationsByStatusRequest request;
  v1::AnnotationStatus status = v1::ANNOTATION_STATUS_PENDING;
  if (!StatusOption(options, "status", &status)) return 2;
  request.set_status(status);
  if (!FillPage(options, &request)) return 2;
  return PrintAnnotationPage(client.ListAnnotationsByStatus(request),
                             invocation.json);
}

int Review(client::AnnotationClient& client, const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  if (!options.Only({"id", "decision", "reviewer", "expected", "spanish",
                     "english", "bounding-box", "type", "difficulty"}))
    return 2;
  v1::ReviewAnnotationRequest request;
  request.set_id(options.Get("id"));
  v1::ReviewDecision decision = v1::REVIEW_DECISION_UNSPECIFIED;
  if (!ParseEnumOption(options.Get("decision"), "REVIEW_DECISION_",
                       v1::ReviewDecision_Parse, &decision)) {
    std::cerr << "error: --decision wants approve, reject or edit\n";
    return 2;
  }
  request.set_decision(decision);
  request.set_reviewer(options.Get("reviewer"));
  v1::AnnotationStatus expected = v1::ANNOTATION_STATUS_PENDING;
  if (!StatusOption(options, "expected", &expected)) return 2;
  request.set_expected_status(expected);
  if (options.Has("spanish")) request.set_spanish_term(options.Get("spanish"));
  if (options.Has("english")) request.set_english_term(options.Get("english"));
  if (options.Has("bounding-box"))
    request.set_bounding_box(options.Get("bounding-box"));
  if (options.Has("type")) request.set_annotation_type(options.Get("type"));
  if (options.Has("difficulty")) {
    int32_t difficulty = 0;
    if (!options.Int("difficulty", &difficulty)) return 2;
    request.set_difficulty_level(difficulty);
  }
  absl::StatusOr<v1::Annotation> annotation = client.ReviewAnnotation(request);
  if (!annotation.ok()) return PrintError(annotation.status());
  if (invocation.json) {
    PrintJson(*annotation);
  } else {
    google::protobuf::RepeatedPtrField<v1::Annotation> one;
    *one.Add() = *annotation;
    PrintAnnotations(one);
  }
  return 0;
}

}  // namespace

int AnnotationsCommand(const Invocation& invocation) {
  client::AnnotationClient client(ChannelOf(invocation),
                                  CallOptionsOf(invocation));
  const std::string& verb = invocation.words[1];
  if (verb == "image") return Image(client, invocation);
  if (verb == "queue") return Queue(client, invocation);
  if (verb == "review") return Review(client, invocation);
  std::cerr << "error: unknown annotations command '" << verb
            << "' (image, queue, review)\n";
  return 2;
}

}  // namespace aves::cli
