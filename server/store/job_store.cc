#include "server/store/job_store.h"

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/store/queries.h"

namespace aves::store {

std::vector<db::PreparedStatement> JobStore::PreparedStatements() {
  return {{kListJobErrors.name, kListJobErrors.sql}};
}

absl::StatusOr<JobErrorPage> JobStore::ListErrors(
    const db::CallContext& context, const std::string& job_id,
    const std::optional<JobErrorCursor>& after, int limit) {
  JobErrorPage page;
  bool job_exists = true;
  absl::Status status =
      database_.Run(context, db::Access::kRead, [&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        // One row past the page tells whether another page follows.
        pqxx::result rows = tx.exec_prepared(
            kListJobErrors.name, job_id,
            after ? after->created_at : std::string("infinity"),
            after ? after->id : std::string("9223372036854775807"), limit + 1);
        page = JobErrorPage{};
        for (const pqxx::row& row : rows) {
          if (static_cast<int>(page.errors.size()) == limit) {
            page.more = true;
            break;
          }
          JobError error;
          error.id = row[0].as<int64_t>();
          error.job_id = row[1].as<std::string>();
          if (!row[2].is_null()) error.item_index = row[2].as<int64_t>();
          if (!row[3].is_null()) error.item_id = row[3].as<std::string>();
          error.error_message = row[4].as<std::string>();
          error.created_at = absl::FromUnixMicros(row[5].as<int64_t>());
          error.created_at_text = row[6].as<std::string>();
          page.errors.push_back(std::move(error));
        }
        // An empty first page may mean no such job: worth one more query only
        // then.
        if (page.errors.empty() && !after.has_value()) {
          job_exists =
              !tx.exec_params("SELECT 1 FROM batch_jobs WHERE id = $1", job_id)
                   .empty();
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (!job_exists)
    return absl::NotFoundError(absl::StrCat("no batch job ", job_id));
  return page;
}

}  // namespace aves::store
