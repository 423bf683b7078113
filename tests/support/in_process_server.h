// avesd's AvesServer inside the test process, on a free loopback port, over
// a test database: faster than a child process, and tests can set any
// Config field (a small watch queue, a short grace period).
#ifndef AVES_TESTS_SUPPORT_IN_PROCESS_SERVER_H_
#define AVES_TESTS_SUPPORT_IN_PROCESS_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include <absl/status/statusor.h>
#include <grpcpp/channel.h>

#include "client/lib/channel.h"
#include "server/app/server.h"
#include "server/config/config.h"

namespace aves::testing {

class InProcessServer {
 public:
  // Serves `database_url` (already migrated) once health would say SERVING;
  // `adjust` may change the test defaults (pool of 2-8 connections, health
  // every 100 ms, 2 s shutdown grace).
  static absl::StatusOr<std::unique_ptr<InProcessServer>> Start(
      const std::string& database_url,
      const std::function<void(config::Config&)>& adjust = {},
      const client::ChannelSecurity& security = {});

  std::string address() const;
  // host:port of its HTTP listener ("" when the test turned it off).
  std::string http_address() const;
  // A channel to it (client/lib's options).
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  app::AvesServer& server() { return *server_; }

 private:
  std::unique_ptr<app::AvesServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_IN_PROCESS_SERVER_H_
