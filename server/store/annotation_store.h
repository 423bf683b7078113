// AnnotationStore: ai_annotation_items as plain structs: the image and
// review-status lists (keyset pages) and the review decision. Its SQL is the
// named queries of queries.h, prepared on every pooled connection.
#ifndef AVES_SERVER_STORE_ANNOTATION_STORE_H_
#define AVES_SERVER_STORE_ANNOTATION_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/common/call_context.h"
#include "server/db/prepared_statement.h"
#include "server/store/keyset.h"

namespace aves::db {
class Database;
}  // namespace aves::db

namespace aves::store {

struct Annotation {
  std::string id;
  std::optional<std::string> job_id;
  std::string image_id;
  std::string spanish_term;
  std::string english_term;
  std::string bounding_box;  // JSON text
  std::string annotation_type;
  std::optional<int> difficulty_level;
  float confidence = 0;
  std::string status;  // pending | approved | rejected | edited
  absl::Time created_at;
  std::optional<absl::Time> reviewed_at;
  std::optional<std::string> reviewed_by;
  // Sort keys as PostgreSQL printed them: the keyset cursors.
  std::string created_at_text;
  std::string confidence_text;
};

struct AnnotationPage {
  std::vector<Annotation> annotations;
  bool more = false;  // rows remain after this page
  KeysetCursor last;  // the next page starts after it (keyset.h)
};

struct Review {
  std::string id;
  std::string new_status;       // approved | rejected | edited
  std::string expected_status;  // the status the reviewer saw
  std::string reviewer;
  // Edits (new_status "edited"); nullopt keeps the current value.
  std::optional<std::string> spanish_term;
  std::optional<std::string> english_term;
  std::optional<std::string> bounding_box;  // JSON text
  std::optional<std::string> annotation_type;
  std::optional<int> difficulty_level;
};

class AnnotationStore {
 public:
  explicit AnnotationStore(db::Database& database) : database_(database) {}

  static std::vector<db::PreparedStatement> PreparedStatements();

  // Annotations of `image_id` with confidence >= `min_confidence`, highest
  // confidence first, after `after` (confidence text, id).
  absl::StatusOr<AnnotationPage> ListByImage(
      const common::CallContext& context, const std::string& image_id,
      float min_confidence, const std::optional<KeysetCursor>& after,
      int limit);

  // Annotations in `status`, newest first, after `after` (created_at text,
  // id).
  absl::StatusOr<AnnotationPage> ListByStatus(
      const common::CallContext& context, const std::string& status,
      const std::optional<KeysetCursor>& after, int limit);

  // Applies `review` if the item is still in review.expected_status.
  // NOT_FOUND for no such item; FAILED_PRECONDITION naming the current
  // status when it moved on; INVALID_ARGUMENT naming bounding_box for bad
  // JSON.
  absl::StatusOr<Annotation> ApplyReview(const common::CallContext& context,
                                         const Review& review);

 private:
  db::Database& database_;
};

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_ANNOTATION_STORE_H_
