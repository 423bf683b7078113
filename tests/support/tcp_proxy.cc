#include "tests/support/tcp_proxy.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <regex>

#include <absl/strings/str_cat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace aves::testing {
namespace {

constexpr int kPollMillis = 50;

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// Writes all of `data`; false when the peer is gone.
bool WriteAll(int fd, const char* data, ssize_t size) {
  while (size > 0) {
    const ssize_t written =
        send(fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data += written;
    size -= written;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Start(int target_port) {
  std::unique_ptr<TcpProxy> proxy(new TcpProxy());
  proxy->target_port_ = target_port;
  proxy->listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof(address);
  if (proxy->listen_fd_ < 0 ||
      bind(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&address),
           sizeof(address)) != 0 ||
      listen(proxy->listen_fd_, 64) != 0 ||
      getsockname(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&address),
                  &length) != 0) {
    return absl::InternalError(
        absl::StrCat("proxy: cannot listen: errno ", errno));
  }
  proxy->port_ = ntohs(address.sin_port);
  proxy->accept_thread_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::thread> pumps;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pumps.swap(pumps_);
  }
  for (std::thread& pump : pumps) pump.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void TcpProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd ready{listen_fd_, POLLIN, 0};
    if (poll(&ready, 1, kPollMillis) <= 0) continue;
    const int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    if (frozen_) {
      // A frozen route: the connection is accepted and never answered.
      std::lock_guard<std::mutex> lock(mutex_);
      pumps_.emplace_back([this, client] {
        while (!stopping_) usleep(kPollMillis * 1000);
        close(client);
      });
      continue;
    }
    const int server = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in target = Loopback(target_port_);
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&target),
                              sizeof(target)) != 0) {
      close(client);
      if (server >= 0) close(server);
      continue;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    pumps_.emplace_back([this, client, server] { Pump(client, server); });
  }
}

void TcpProxy::Pump(int client, int server) {
  char buffer[16384];
  bool open = true;
  while (open && !stopping_) {
    if (frozen_) {
      usleep(kPollMillis * 1000);  // read nothing, send nothing, close nothing
      continue;
    }
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    if (poll(fds, 2, kPollMillis) <= 0) continue;
    for (int i = 0; i < 2 && open && !frozen_; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t got = recv(fds[i].fd, buffer, sizeof(buffer), 0);
      open = got > 0 && WriteAll(i == 0 ? server : client, buffer, got);
    }
  }
  close(client);
  close(server);
}

int LoopbackPortOf(const std::string& url) {
  static const std::regex kLoopback(R"(@(127\.0\.0\.1|localhost):(\d+))");
  std::smatch match;
  if (!std::regex_search(url, match, kLoopback)) return 0;
  return std::stoi(match[2].str());
}

std::string WithPort(const std::string& url, int port) {
  static const std::regex kHostPort(R"((@[^:/@]+):\d+)");
  return std::regex_replace(url, kHostPort, absl::StrCat("$1:", port),
                            std::regex_constants::format_first_only);
}

}  // namespace aves::testing
