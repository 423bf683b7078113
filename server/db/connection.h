// Opening libpqxx connections the way every part of avesd should: tagged with
// an application_name (so operators find them in pg_stat_activity), with
// failures as Status values, and connection strings edited without string
// surgery at call sites.
#ifndef AVES_SERVER_DB_CONNECTION_H_
#define AVES_SERVER_DB_CONNECTION_H_

#include <memory>
#include <string>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>
#include <pqxx/connection>

namespace aves::db {

// application_name values, one per kind of connection.
inline constexpr char kServerApplicationName[] = "avesd";
inline constexpr char kMigratorApplicationName[] = "avesd-migrate";

// Returns `conninfo` (a postgres:// URI or key=value string, possibly empty)
// with `key` set to `value`, replacing any earlier value of that key.
std::string WithConnectionParameter(absl::string_view conninfo,
                                    absl::string_view key,
                                    absl::string_view value);

// Shorthands for the two parameters we set.
std::string WithApplicationName(absl::string_view conninfo,
                                absl::string_view name);
std::string WithDatabase(absl::string_view conninfo, absl::string_view dbname);
// connect_timeout: libpq takes whole seconds, at least 2, so `timeout` is
// rounded up to that.
std::string WithConnectTimeout(absl::string_view conninfo,
                               absl::Duration timeout);
// TCP keepalives and tcp_user_timeout, so a peer that vanished without a
// reset (a dropped route, a dead host) fails the connection within about
// `dead_after` instead of never.
std::string WithDeadPeerDetection(absl::string_view conninfo,
                                  absl::Duration dead_after);

// `conninfo` with any password replaced by "***", for logs and errors.
std::string RedactConnectionString(absl::string_view conninfo);

// Opens a connection; UNAVAILABLE (naming the database, never the password)
// when it cannot.
absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(
    absl::string_view conninfo, absl::string_view application_name);

}  // namespace aves::db

#endif  // AVES_SERVER_DB_CONNECTION_H_
