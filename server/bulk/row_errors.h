// Which PostgreSQL refusals are a row's fault: class 21 (ON CONFLICT meeting
// a key twice), 22 (a bad value), 23 (a constraint), and 54000 (a row too
// large for one of the table's indexes). Such a row is isolated
// and recorded (or, in an atomic load, fails the load as the caller's
// mistake); anything else (a lost connection, a cancel) fails the batch.
#ifndef AVES_SERVER_BULK_ROW_ERRORS_H_
#define AVES_SERVER_BULK_ROW_ERRORS_H_

#include <string>

#include <absl/status/status.h>

namespace aves::bulk {

bool IsRowErrorSqlState(const std::string& sqlstate);

// ON CONFLICT names columns no unique index or constraint covers exactly.
absl::Status NoConflictTarget();

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_ROW_ERRORS_H_
