// Listener: a PostgreSQL connection of its own, outside the pool (a LISTEN
// ties up its session for good), that listens on one channel and can run
// queries between waits. Used from one thread at a time; a lost connection
// is reported as UNAVAILABLE, and Connect() opens a new one.
#ifndef AVES_SERVER_DB_LISTENER_H_
#define AVES_SERVER_DB_LISTENER_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <absl/functional/function_ref.h>
#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/db/pqxx_fwd.h"

namespace aves::db {

class Listener {
 public:
  // `statement_timeout` bounds the queries Run sends.
  Listener(std::string conninfo, std::string application_name,
           std::string channel, absl::Duration statement_timeout);
  ~Listener();

  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Opens the connection (closing any earlier one) and LISTENs; UNAVAILABLE
  // naming the database (never the password) when it cannot.
  absl::Status Connect();
  // Closes the connection; Await and Run fail until Connect again.
  void Close();
  // From any thread: makes a wait or query in progress on the connection
  // fail at once (the socket is shut down), e.g. one stuck on a peer that no
  // longer answers. The connection is then lost; Connect again.
  void Interrupt();

  // Waits up to `timeout` for notifications on the channel and returns their
  // payloads (empty: none came). UNAVAILABLE when the connection was lost.
  absl::StatusOr<std::vector<std::string>> Await(absl::Duration timeout);

  // Runs `fn` on the connection. Failures are statuses (db/errors.h).
  absl::Status Run(absl::FunctionRef<absl::Status(pqxx::connection_base&)> fn);

 private:
  struct Session;  // the connection and its LISTEN receiver
  const std::string conninfo_;
  const std::string application_name_;
  const std::string channel_;
  const absl::Duration statement_timeout_;
  std::unique_ptr<Session> session_;
  // The session's socket, for Interrupt; -1 while closed. Guarded so an
  // Interrupt never shuts down a descriptor reused after Close.
  std::mutex socket_mutex_;
  int socket_ = -1;
};

}  // namespace aves::db

#endif  // AVES_SERVER_DB_LISTENER_H_
