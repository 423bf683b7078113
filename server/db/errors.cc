#include "server/db/errors.h"

#include <absl/strings/cord.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/strip.h>
#include <pqxx/except>

namespace aves::db {

bool IsConnectionLossSqlState(absl::string_view sqlstate) {
  return absl::StartsWith(sqlstate, "08") || sqlstate == "57P01" ||
         sqlstate == "57P02" || sqlstate == "57P03";
}

absl::StatusCode StatusCodeForSqlState(absl::string_view sqlstate) {
  if (IsConnectionLossSqlState(sqlstate) || sqlstate == "53300") {
    return absl::StatusCode::kUnavailable;
  }
  if (sqlstate == "57014") return absl::StatusCode::kDeadlineExceeded;
  if (sqlstate == "23505") return absl::StatusCode::kAlreadyExists;
  if (sqlstate == "23503") return absl::StatusCode::kFailedPrecondition;
  if (absl::StartsWith(sqlstate, "23") || absl::StartsWith(sqlstate, "22")) {
    return absl::StatusCode::kInvalidArgument;
  }
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
    return absl::StatusCode::kAborted;
  }
  if (sqlstate == "42P01" || sqlstate == "42703")
    return absl::StatusCode::kFailedPrecondition;
  if (absl::StartsWith(sqlstate, "53"))
    return absl::StatusCode::kResourceExhausted;
  return absl::StatusCode::kInternal;
}

std::string PrimaryMessage(absl::string_view message) {
  absl::string_view line = message.substr(0, message.find('\n'));
  absl::ConsumePrefix(&line, "ERROR:  ");
  return std::string(line);
}

absl::Status StatusFromCurrentException(absl::string_view context,
                                        ErrorText text) {
  const std::string prefix = context.empty() ? "" : absl::StrCat(context, ": ");
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnknownError(absl::StrCat(
        prefix,
        "the outcome of the commit is unknown (connection lost): ", e.what()));
  } catch (const pqxx::broken_connection& e) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat(prefix, "database connection lost: ", e.what()));
    status.SetPayload(kConnectionLostPayload, absl::Cord("1"));
    return status;
  } catch (const pqxx::sql_error& e) {
    const std::string sqlstate = e.sqlstate();
    absl::Status status(
        StatusCodeForSqlState(sqlstate),
        absl::StrCat(prefix,
                     text == ErrorText::kFull ? std::string(e.what())
                                              : PrimaryMessage(e.what()),
                     sqlstate.empty() ? "" : " [SQLSTATE ", sqlstate,
                     sqlstate.empty() ? "" : "]"));
    if (!sqlstate.empty()) {
      status.SetPayload(kSqlStatePayload, absl::Cord(sqlstate));
    }
    if (IsConnectionLossSqlState(sqlstate)) {
      status.SetPayload(kConnectionLostPayload, absl::Cord("1"));
    }
    return status;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(prefix, e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(prefix, "unknown exception"));
  }
}

std::optional<std::string> SqlStateOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kSqlStatePayload);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

bool IsConnectionLoss(const absl::Status& status) {
  return status.GetPayload(kConnectionLostPayload).has_value();
}

}  // namespace aves::db
