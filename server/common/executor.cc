#include "server/common/executor.h"

#include <unistd.h>

#include <sys/resource.h>

namespace aves::common {

Executor::Executor(int threads, size_t max_queued, int nice)
    : max_queued_(max_queued), nice_(nice) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

Executor::~Executor() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

bool Executor::Post(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(work));
  }
  wakeup_.notify_one();
  return true;
}

void Executor::Run() {
  // Linux applies a nice value per thread. Lowering it needs no privilege;
  // should it fail, the work runs at normal priority.
  if (nice_ > 0) (void)setpriority(PRIO_PROCESS, gettid(), nice_);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wakeup_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued has run
    std::function<void()> work = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    work();
    lock.lock();
  }
}

}  // namespace aves::common
