// AccessLog: one structured line per RPC (method, status code, duration,
// rows), and a warning instead when the RPC was slower than the threshold.
// Handlers create one on entry; it logs when it goes out of scope.
#ifndef AVES_SERVER_HANDLERS_ACCESS_LOG_H_
#define AVES_SERVER_HANDLERS_ACCESS_LOG_H_

#include <cstdint>
#include <memory>
#include <utility>

#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <grpcpp/support/status.h>

#include "server/auth/authenticator.h"

namespace aves::handlers {

class AccessLog {
 public:
  // `slow` is the threshold above which the line is a warning.
  // `start` is when the call arrived (before any queueing).
  AccessLog(const char* method, absl::Duration slow,
            absl::Time start = absl::Now())
      : method_(method), slow_(slow), start_(start) {}
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Who called (the line's `caller=`; none when authentication is off).
  void set_caller(std::shared_ptr<const auth::Caller> caller) {
    caller_ = std::move(caller);
  }

  // The statements the call ran (the line's `statements=` and `db_ms=`;
  // absent for calls that do not count them).
  void set_statements(int64_t count, absl::Duration time) {
    statements_ = count;
    db_time_ = time;
  }

  // Records the outcome and passes it through: `return log.Done(status);`
  grpc::Status Done(grpc::Status status, int64_t rows = 0) {
    status_ = status;
    rows_ = rows;
    return status;
  }

 private:
  const char* method_;
  absl::Duration slow_;
  absl::Time start_;
  std::shared_ptr<const auth::Caller> caller_;
  grpc::Status status_ =
      grpc::Status(grpc::StatusCode::UNKNOWN, "handler did not finish");
  int64_t rows_ = 0;
  int64_t statements_ = -1;  // -1: not counted
  absl::Duration db_time_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_ACCESS_LOG_H_
