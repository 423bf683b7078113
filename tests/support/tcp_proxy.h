// TcpProxy: a loopback TCP proxy a test puts between avesd and PostgreSQL,
// to make a connection die silently: Freeze() stops forwarding in both
// directions while every socket stays open — no reset, no FIN, and this
// side's kernel still acknowledges what arrives — as a dead route or a
// middlebox that stops answering would. Only loopback; nothing else.
#ifndef AVES_TESTS_SUPPORT_TCP_PROXY_H_
#define AVES_TESTS_SUPPORT_TCP_PROXY_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <absl/status/statusor.h>

namespace aves::testing {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 (a free port) and forwards each connection to
  // `target_port` on 127.0.0.1.
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(int target_port);
  ~TcpProxy();  // closes every socket and joins its threads

  int port() const { return port_; }
  // From now on nothing is forwarded; connections stay open.
  void Freeze() { frozen_ = true; }

 private:
  TcpProxy() = default;
  void AcceptLoop();
  void Pump(int client, int server);

  int target_port_ = 0;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> frozen_{false};
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mutex_;
  std::vector<std::thread> pumps_;
};

// The port of a PostgreSQL on loopback named by `url` (a URI with
// @127.0.0.1:PORT or @localhost:PORT); 0 when it names another host.
int LoopbackPortOf(const std::string& url);
// `url` with its port replaced.
std::string WithPort(const std::string& url, int port);

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_TCP_PROXY_H_
