// Executor: a fixed set of threads running posted work in FIFO order, with a
// bounded queue. gRPC's callback API must never block its own threads on the
// database, so handlers post their (blocking) store calls here; sized to the
// connection pool, it runs as many database calls at once as there are
// connections, and no more threads than that wait on them.
#ifndef AVES_SERVER_COMMON_EXECUTOR_H_
#define AVES_SERVER_COMMON_EXECUTOR_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <absl/status/status.h>

namespace aves::common {

// RESOURCE_EXHAUSTED "server busy": what a caller hears when its work cannot
// be queued (Executor::Post returned false). The one text for every refusal.
inline absl::Status ExecutorFullError() {
  return absl::ResourceExhaustedError(
      "server busy: too many calls queued for the database");
}

class Executor {
 public:
  // `nice` > 0 lowers its threads' CPU priority (setpriority): bulk work
  // yields the CPU to the interactive calls.
  Executor(int threads, size_t max_queued, int nice = 0);
  ~Executor();  // runs what is queued, then joins

  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `work`; false (and `work` dropped) when max_queued are waiting or
  // the executor is stopping.
  bool Post(std::function<void()> work);

 private:
  void Run();
  const size_t max_queued_;
  const int nice_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_EXECUTOR_H_
