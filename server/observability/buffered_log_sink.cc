#include "server/observability/buffered_log_sink.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace aves::observability {

BufferedLogSink::BufferedLogSink(int fd, absl::Duration max_delay,
                                 size_t buffer_bytes)
    : fd_(fd), max_delay_(max_delay), buffer_bytes_(buffer_bytes) {
  buffer_.reserve(buffer_bytes_);
  // The timer thread must never take a process signal, whoever makes the
  // sink and whenever: the kernel may deliver SIGINT/SIGTERM to any thread
  // that leaves them unblocked, with their default action (avesd would die
  // instead of draining). It inherits this full mask.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  timer_ = std::thread([this] { FlushPeriodically(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

BufferedLogSink::~BufferedLogSink() {
  {
    std::lock_guard<std::mutex> lock(timer_mutex_);
    stopping_ = true;
  }
  timer_wake_.notify_all();
  timer_.join();
  flush();
}

void BufferedLogSink::sink_it_(const spdlog::details::log_msg& message) {
  spdlog::memory_buf_t formatted;
  formatter_->format(message, formatted);
  buffer_.append(formatted.data(), formatted.size());
  if (message.level >= spdlog::level::warn || buffer_.size() >= buffer_bytes_)
    WriteBuffered();
}

void BufferedLogSink::flush_() { WriteBuffered(); }

void BufferedLogSink::WriteBuffered() {
  size_t written = 0;
  while (written < buffer_.size()) {
    const ssize_t n =
        ::write(fd_, buffer_.data() + written, buffer_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  buffer_.clear();
}

void BufferedLogSink::FlushPeriodically() {
  const auto period = absl::ToChronoMilliseconds(max_delay_);
  std::unique_lock<std::mutex> lock(timer_mutex_);
  while (!timer_wake_.wait_for(lock, period, [this] { return stopping_; })) {
    lock.unlock();
    flush();
    lock.lock();
  }
}

}  // namespace aves::observability
