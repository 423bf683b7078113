// AvesServer: the running gRPC server and what it owns (services, health
// monitor). main() only builds a Config and calls Start; tests do the same on
// port 0. gRPC types stay out of this header to keep its includers cheap.
#ifndef AVES_SERVER_APP_SERVER_H_
#define AVES_SERVER_APP_SERVER_H_

#include <memory>
#include <vector>

#include <absl/status/statusor.h>

#include "server/config/config.h"
#include "server/db/migration_file.h"

namespace aves::app {

class AvesServer {
 public:
  // Binds config.listen_address, registers every service plus health and
  // reflection, and starts the health monitor. Health reports SERVING only
  // while the database is reachable and the schema current.
  static absl::StatusOr<std::unique_ptr<AvesServer>> Start(
      const config::Config& config, std::vector<db::MigrationFile> migrations);
  ~AvesServer();

  // The bound port (useful with port 0).
  int port() const;
  // The HTTP listener's bound port (0 when it is off).
  int http_port() const;

  // Reports NOT_SERVING, stops accepting calls and waits up to the configured
  // grace period for in-flight calls before cancelling them. Idempotent.
  void Shutdown();

  // Blocks until the server has shut down.
  void Wait();

 private:
  struct Impl;
  explicit AvesServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aves::app

#endif  // AVES_SERVER_APP_SERVER_H_
