// The one place where database failures become absl::Status. Every layer above
// db/ and the stores sees status codes, never pqxx exceptions or SQLSTATEs:
//   connection loss (class 08, 57P01-57P03, broken_connection) UNAVAILABLE
//   57014 query_canceled                                      DEADLINE_EXCEEDED
//   23505 unique_violation                                    ALREADY_EXISTS
//   23503 foreign_key_violation FAILED_PRECONDITION other class 23, class 22
//   (bad data)                       INVALID_ARGUMENT 40001 serialization,
//   40P01 deadlock, 55P03 lock timeout   ABORTED (retry) 42P01/42703 undefined
//   table/column (not migrated)         FAILED_PRECONDITION 53300
//   too_many_connections                                UNAVAILABLE other class
//   53 (out of resources)                         RESOURCE_EXHAUSTED
//   in_doubt_error (COMMIT outcome unknown)                   UNKNOWN
//   anything else                                             INTERNAL
// A status keeps only PostgreSQL's primary message: its DETAIL, HINT and
// CONTEXT can show a row's values (the whole failing row, another user's
// key), and statuses reach callers and logs.
#ifndef AVES_SERVER_DB_ERRORS_H_
#define AVES_SERVER_DB_ERRORS_H_

#include <exception>
#include <optional>
#include <string>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>

namespace aves::db {

// Payload key under which the SQLSTATE (when there is one) rides on a Status.
inline constexpr char kSqlStatePayload[] = "aves.sqlstate";
// Payload key marking a status caused by a lost connection.
inline constexpr char kConnectionLostPayload[] = "aves.connection_lost";

// Maps a SQLSTATE to a status code as in the table above.
absl::StatusCode StatusCodeForSqlState(absl::string_view sqlstate);

// True for SQLSTATEs that mean the connection is unusable.
bool IsConnectionLossSqlState(absl::string_view sqlstate);

enum class ErrorText {
  kPrimary,  // PostgreSQL's first line (see above)
  // Everything PostgreSQL said: only for the operator's own SQL (the
  // migrator), where LINE and CONTEXT say where a migration failed.
  kFull,
};

// Converts the exception being handled into a Status, prefixing `context`
// ("applying 003_create_user_progress.sql"). Call only inside a catch block.
absl::Status StatusFromCurrentException(absl::string_view context,
                                        ErrorText text = ErrorText::kPrimary);

// PostgreSQL's primary message: the first line of `message` (an error's
// what()), without "ERROR:  ".
std::string PrimaryMessage(absl::string_view message);

// The SQLSTATE carried by `status`, if any.
std::optional<std::string> SqlStateOf(const absl::Status& status);

// True when `status` came from a connection that is now unusable
// (broken_connection, or a connection-loss SQLSTATE).
bool IsConnectionLoss(const absl::Status& status);

}  // namespace aves::db

#endif  // AVES_SERVER_DB_ERRORS_H_
