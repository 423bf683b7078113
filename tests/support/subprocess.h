// Runs the real binaries (avesd, avesctl) from tests: posix_spawn with an
// explicit environment (no fork in a threaded process), output captured to
// files, bounded waits so nothing hangs a test run.
#ifndef AVES_TESTS_SUPPORT_SUBPROCESS_H_
#define AVES_TESTS_SUPPORT_SUBPROCESS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <absl/time/time.h>

#include <sys/types.h>

namespace aves::testing {

class Subprocess {
 public:
  // Starts argv[0] with the current environment plus `env` (which wins).
  Subprocess(std::vector<std::string> argv,
             std::map<std::string, std::string> env = {});
  ~Subprocess();  // SIGKILLs and reaps a process still running

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  void Signal(int signal_number);
  // The exit code (128 + signal when killed), or nullopt if still running
  // after `timeout`.
  std::optional<int> Wait(absl::Duration timeout);
  std::string Stdout() const;
  std::string Stderr() const;
  // Stderr once it contains `text` (avesd buffers info lines for up to
  // 200 ms), or as it is after `timeout`.
  std::string StderrOnceItHas(const std::string& text,
                              absl::Duration timeout = absl::Seconds(10)) const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string stdout_path_;
  std::string stderr_path_;
};

struct CommandResult {
  int exit_code = -1;  // -1: timed out (and killed)
  std::string out;
  std::string err;
};

// Runs a command to completion (killed after `timeout`).
CommandResult RunCommand(std::vector<std::string> argv,
                         std::map<std::string, std::string> env = {},
                         absl::Duration timeout = absl::Seconds(60));

// Reads a whole file; "" when missing.
std::string ReadFileOrEmpty(const std::string& path);

// A fresh directory under $TMPDIR (not removed: tests' scratch space is small).
std::string MakeTempDir();

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_SUBPROCESS_H_
