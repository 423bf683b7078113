#include "server/db/connect_failure.h"

#include <absl/strings/match.h>

namespace aves::db {

std::string ConnectFailureReason(absl::string_view libpq_message) {
  struct Known {
    const char* says;
    const char* reason;
  };
  // libpq's wording (PostgreSQL 15), most specific first.
  static constexpr Known kKnown[] = {
      {"password authentication failed", "authentication failed"},
      {"authentication failed", "authentication failed"},
      {"no password supplied", "authentication failed"},
      {"no pg_hba.conf entry", "not allowed by the server's pg_hba.conf"},
      {"does not exist", "database or role does not exist"},
      {"too many clients", "the server has no free connection slots"},
      {"remaining connection slots", "the server has no free connection slots"},
      {"the database system is starting up", "the server is starting up"},
      {"the database system is shutting down", "the server is shutting down"},
      {"the database system is in recovery", "the server is in recovery"},
      {"timeout expired", "connect timeout"},
      {"Connection refused", "connection refused"},
      {"could not translate host name", "host name not resolved"},
      {"No route to host", "no route to host"},
      {"Network is unreachable", "network unreachable"},
      {"SSL", "TLS negotiation failed"},
      {"invalid", "invalid connection string"},
  };
  for (const Known& known : kKnown) {
    if (absl::StrContains(libpq_message, known.says)) return known.reason;
  }
  return "connection failed (details in avesd's log)";
}

}  // namespace aves::db
