#include "server/db/listener.h"

#include <utility>

#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/common/status_macros.h"
#include "server/db/connection.h"
#include "server/db/errors.h"
#include "server/db/statement_name.h"

#include <sys/socket.h>

namespace aves::db {
namespace {

// Collects the payloads one await_notification call delivers.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& connection, const std::string& channel,
           std::vector<std::string>* out)
      : pqxx::notification_receiver(connection, channel), out_(out) {}
  void operator()(const std::string& payload, int) override {
    out_->push_back(payload);
  }

 private:
  std::vector<std::string>* out_;
};

}  // namespace

struct Listener::Session {
  std::unique_ptr<pqxx::connection> connection;
  std::vector<std::string> received;   // filled by the receiver
  std::unique_ptr<Receiver> receiver;  // declared last: goes first

  ~Session() { receiver.reset(); }  // unregisters before the connection closes
};

Listener::Listener(std::string conninfo, std::string application_name,
                   std::string channel, absl::Duration statement_timeout)
    : conninfo_(std::move(conninfo)),
      application_name_(std::move(application_name)),
      channel_(std::move(channel)),
      statement_timeout_(statement_timeout) {}

Listener::~Listener() { Close(); }

absl::Status Listener::Connect() {
  Close();
  auto session = std::make_unique<Session>();
  ASSIGN_OR_RETURN(session->connection,
                   db::Connect(conninfo_, application_name_));
  try {
    pqxx::nontransaction(*session->connection)
        .exec(absl::StrCat(
            AVES_SQL_NAME("listener_setup") "SET statement_timeout = ",
            absl::ToInt64Milliseconds(statement_timeout_)));
    session->receiver = std::make_unique<Receiver>(
        *session->connection, channel_, &session->received);  // LISTEN
  } catch (...) {
    return absl::UnavailableError(
        StatusFromCurrentException(absl::StrCat("listening on ", channel_))
            .message());
  }
  {
    std::lock_guard<std::mutex> lock(socket_mutex_);
    socket_ = session->connection->sock();
  }
  session_ = std::move(session);
  return absl::OkStatus();
}

void Listener::Close() {
  {
    std::lock_guard<std::mutex> lock(socket_mutex_);
    socket_ = -1;
  }
  session_.reset();
}

void Listener::Interrupt() {
  std::lock_guard<std::mutex> lock(socket_mutex_);
  if (socket_ >= 0) ::shutdown(socket_, SHUT_RDWR);
}

absl::StatusOr<std::vector<std::string>> Listener::Await(
    absl::Duration timeout) {
  if (session_ == nullptr) return absl::UnavailableError("not connected");
  const int64_t micros = absl::ToInt64Microseconds(timeout);
  try {
    session_->connection->await_notification(micros / 1'000'000,
                                             micros % 1'000'000);
  } catch (...) {
    return absl::UnavailableError(
        StatusFromCurrentException("waiting for notifications").message());
  }
  std::vector<std::string> payloads;
  payloads.swap(session_->received);
  return payloads;
}

absl::Status Listener::Run(
    absl::FunctionRef<absl::Status(pqxx::connection_base&)> fn) {
  if (session_ == nullptr) return absl::UnavailableError("not connected");
  try {
    return fn(*session_->connection);
  } catch (...) {
    return StatusFromCurrentException("");
  }
}

}  // namespace aves::db
