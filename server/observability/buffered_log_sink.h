// BufferedLogSink: an spdlog sink that collects formatted lines in memory and
// writes them to a file descriptor in large writes. The access log writes one
// line per RPC; written one write(2) each (spdlog's stream sinks flush every
// line), they cost the hot path a system call per lookup. Lines reach the
// descriptor when the buffer fills, when a warning or worse arrives (those go
// out at once, with everything before them, so order is kept), on flush(),
// and at the latest `max_delay` after they were logged.
#ifndef AVES_SERVER_OBSERVABILITY_BUFFERED_LOG_SINK_H_
#define AVES_SERVER_OBSERVABILITY_BUFFERED_LOG_SINK_H_

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

#include <absl/time/time.h>
#include <spdlog/sinks/base_sink.h>

namespace aves::observability {

class BufferedLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Does not own `fd`. `max_delay` bounds how long a line may wait.
  BufferedLogSink(int fd, absl::Duration max_delay,
                  size_t buffer_bytes = 64 * 1024);
  // Stops the timer and writes what is left.
  ~BufferedLogSink() override;

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override;
  void flush_() override;

 private:
  // Writes the whole buffer (retrying short writes and EINTR) and empties it;
  // on any other error the lines are dropped: logging must not stop serving.
  void WriteBuffered();
  void FlushPeriodically();

  const int fd_;
  const absl::Duration max_delay_;
  const size_t buffer_bytes_;
  std::string buffer_;  // guarded by base_sink's mutex_

  std::mutex timer_mutex_;
  std::condition_variable timer_wake_;
  bool stopping_ = false;  // guarded by timer_mutex_
  std::thread timer_;
};

}  // namespace aves::observability

#endif  // AVES_SERVER_OBSERVABILITY_BUFFERED_LOG_SINK_H_
