// PeriodicTask: runs a function every `interval` on a thread of its own until
// stopped (used for the cache purge). Stop() wakes the thread at once.
#ifndef AVES_SERVER_APP_PERIODIC_TASK_H_
#define AVES_SERVER_APP_PERIODIC_TASK_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <absl/time/time.h>

namespace aves::app {

class PeriodicTask {
 public:
  PeriodicTask(absl::Duration interval, std::function<void()> task)
      : interval_(interval), task_(std::move(task)) {}
  ~PeriodicTask() { Stop(); }

  void Start() {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!wakeup_.wait_for(lock, absl::ToChronoNanoseconds(interval_),
                               [this] { return stopping_; })) {
        lock.unlock();
        task_();
        lock.lock();
      }
    });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wakeup_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  const absl::Duration interval_;
  const std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace aves::app

#endif  // AVES_SERVER_APP_PERIODIC_TASK_H_
