#include "server/store/annotation_store.h"

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/common/status_macros.h"
#include "server/db/database.h"
#include "server/db/statement_name.h"
#include "server/db/timed_exec.h"
#include "server/store/queries.h"
#include "server/store/store_errors.h"
#include "server/store/timestamps.h"

namespace aves::store {
namespace {

constexpr char kMaxUuid[] = "ffffffff-ffff-ffff-ffff-ffffffffffff";

constexpr char kTable[] = "ai_annotation_items";

// The columns of AVES_ANNOTATION_COLUMNS a page's cursor reads.
constexpr int kCreatedAtKey = 13;
constexpr int kConfidenceKey = 14;

// Reads AVES_ANNOTATION_COLUMNS.
absl::StatusOr<Annotation> AnnotationFromRow(const pqxx::row& row) {
  Annotation a;
  a.id = row[0].as<std::string>();
  if (!row[1].is_null()) a.job_id = row[1].as<std::string>();
  a.image_id = row[2].as<std::string>();
  a.spanish_term = row[3].as<std::string>();
  a.english_term = row[4].as<std::string>();
  a.bounding_box = row[5].as<std::string>();
  a.annotation_type = row[6].as<std::string>();
  if (!row[7].is_null()) a.difficulty_level = row[7].as<int>();
  a.confidence = row[8].as<float>();
  a.status = row[9].as<std::string>();
  ASSIGN_OR_RETURN(a.created_at,
                   ApiTime(row[10].as<int64_t>(), kTable, a.id, "created_at"));
  if (!row[11].is_null()) {
    ASSIGN_OR_RETURN(a.reviewed_at, ApiTime(row[11].as<int64_t>(), kTable, a.id,
                                            "reviewed_at"));
  }
  if (!row[12].is_null()) a.reviewed_by = row[12].as<std::string>();
  a.created_at_text = row[kCreatedAtKey].as<std::string>();
  a.confidence_text = row[kConfidenceKey].as<std::string>();
  return a;
}

// `rows` holds up to limit + 1 rows: the extra one only says "more". The
// list is ordered by the column `sort_key`.
AnnotationPage PageFromRows(const pqxx::result& rows, int limit, int sort_key) {
  AnnotationPage page;
  page.more = static_cast<int>(rows.size()) > limit;
  for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
    page.last = {rows[i][sort_key].as<std::string>(),
                 rows[i][0].as<std::string>()};
    absl::StatusOr<Annotation> annotation = AnnotationFromRow(rows[i]);
    if (annotation.ok()) {
      page.annotations.push_back(*std::move(annotation));
    } else {
      LogRowLeftOut(annotation.status());
    }
  }
  return page;
}

}  // namespace

std::vector<db::PreparedStatement> AnnotationStore::PreparedStatements() {
  std::vector<db::PreparedStatement> statements;
  for (const NamedQuery* query :
       {&kListImageAnnotations, &kListAnnotationsByStatus,
        &kReviewAnnotation}) {
    statements.push_back({query->name, query->sql});
  }
  return statements;
}

absl::StatusOr<AnnotationPage> AnnotationStore::ListByImage(
    const common::CallContext& context, const std::string& image_id,
    float min_confidence, const std::optional<KeysetCursor>& after, int limit) {
  AnnotationPage page;
  absl::Status status = database_.Run(
      context, db::Access::kRead, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);
        // Confidence never exceeds 1, so 2 starts before the first row.
        page = PageFromRows(
            db::ExecPrepared(
                database_.query_metrics(), tx, kListImageAnnotations.name,
                image_id, min_confidence,
                after ? after->sort_key : std::string("2"),
                after ? after->id : std::string(kMaxUuid), limit + 1),
            limit, kConfidenceKey);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<AnnotationPage> AnnotationStore::ListByStatus(
    const common::CallContext& context, const std::string& status_filter,
    const std::optional<KeysetCursor>& after, int limit) {
  AnnotationPage page;
  absl::Status status = database_.Run(
      context, db::Access::kRead, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);
        page = PageFromRows(
            db::ExecPrepared(database_.query_metrics(), tx,
                             kListAnnotationsByStatus.name, status_filter,
                             after ? after->sort_key : std::string("infinity"),
                             after ? after->id : std::string(kMaxUuid),
                             limit + 1),
            limit, kCreatedAtKey);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<Annotation> AnnotationStore::ApplyReview(
    const common::CallContext& context, const Review& review) {
  std::optional<absl::StatusOr<Annotation>> updated;
  std::optional<std::string> current_status;  // when the update matched none
  std::optional<std::string> current_reviewer;
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);  // one statement: autocommit
        pqxx::result rows = db::ExecPrepared(
            database_.query_metrics(), tx, kReviewAnnotation.name, review.id,
            review.new_status, review.reviewer, review.spanish_term,
            review.english_term, review.bounding_box, review.annotation_type,
            review.difficulty_level, review.expected_status);
        updated.reset();
        current_status.reset();
        if (!rows.empty()) {
          updated = AnnotationFromRow(rows[0]);
          return absl::OkStatus();
        }
        // Why nothing matched: no such item, or it is no longer in the
        // expected status (read after the update, so it is the state that
        // beat us).
        pqxx::result current = tx.exec_params(
            AVES_SQL_NAME("annotation_current_state") "SELECT status, reviewed_by FROM ai_annotation_items WHERE id = $1",
            review.id);
        if (!current.empty()) {
          current_status = current[0][0].as<std::string>();
          if (!current[0][1].is_null())
            current_reviewer = current[0][1].as<std::string>();
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return NameInvalidJson(status, "bounding_box");
  if (updated.has_value()) return *std::move(updated);
  if (!current_status.has_value()) {
    return absl::NotFoundError(absl::StrCat("no annotation ", review.id));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "annotation ", review.id, " is ", *current_status, ", not ",
      review.expected_status,
      current_reviewer
          ? absl::StrCat(" (last reviewed by ", *current_reviewer, ")")
          : std::string(),
      ": reload it and decide again"));
}

}  // namespace aves::store
