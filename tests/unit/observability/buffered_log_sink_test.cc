#include "server/observability/buffered_log_sink.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace aves::observability {
namespace {

using ::testing::HasSubstr;

// A temporary file the sink writes to; Contents() reads it back.
class LogFile {
 public:
  LogFile() {
    char path[] = "/tmp/aves-log-XXXXXX";
    fd_ = ::mkstemp(path);
    path_ = path;
  }
  ~LogFile() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  std::string Contents() const {
    std::string text;
    char chunk[4096];
    ssize_t n;
    for (off_t at = 0; (n = ::pread(fd_, chunk, sizeof chunk, at)) > 0; at += n)
      text.append(chunk, static_cast<size_t>(n));
    return text;
  }

 private:
  int fd_;
  std::string path_;
};

std::shared_ptr<spdlog::logger> LoggerOn(
    std::shared_ptr<BufferedLogSink> sink) {
  auto logger = std::make_shared<spdlog::logger>("test", std::move(sink));
  logger->set_pattern("%l %v");
  logger->set_level(spdlog::level::info);
  return logger;
}

TEST(BufferedLogSinkTest, HoldsInfoLinesUntilFlushed) {
  LogFile file;
  auto logger =
      LoggerOn(std::make_shared<BufferedLogSink>(file.fd(), absl::Hours(1)));
  logger->info("first");
  logger->info("second");
  EXPECT_EQ(file.Contents(), "");
  logger->flush();
  EXPECT_EQ(file.Contents(), "info first\ninfo second\n");
}

TEST(BufferedLogSinkTest, AWarningGoesOutAtOnceAfterTheLinesBeforeIt) {
  LogFile file;
  auto logger =
      LoggerOn(std::make_shared<BufferedLogSink>(file.fd(), absl::Hours(1)));
  logger->info("routine");
  logger->warn("trouble");
  EXPECT_EQ(file.Contents(), "info routine\nwarning trouble\n");
}

TEST(BufferedLogSinkTest, AFullBufferIsWritten) {
  LogFile file;
  auto logger = LoggerOn(
      std::make_shared<BufferedLogSink>(file.fd(), absl::Hours(1), 100));
  logger->info("{}", std::string(60, 'a'));
  EXPECT_EQ(file.Contents(), "");
  logger->info("{}", std::string(60, 'b'));
  EXPECT_EQ(file.Contents().size(), 2 * (5 + 60 + 1));
}

TEST(BufferedLogSinkTest, WritesWaitingLinesAfterTheDelay) {
  LogFile file;
  auto logger = LoggerOn(
      std::make_shared<BufferedLogSink>(file.fd(), absl::Milliseconds(20)));
  logger->info("eventually");
  // Generous bound: only a sink that never writes waits this long.
  for (int i = 0; i < 500 && file.Contents().empty(); ++i)
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(file.Contents(), "info eventually\n");
}

TEST(BufferedLogSinkTest, WritesTheRestWhenDestroyed) {
  LogFile file;
  {
    auto logger =
        LoggerOn(std::make_shared<BufferedLogSink>(file.fd(), absl::Hours(1)));
    logger->info("last words");
  }
  EXPECT_THAT(file.Contents(), HasSubstr("last words"));
}

TEST(BufferedLogSinkTest, LinesFromManyThreadsArriveWholeAndOnce) {
  LogFile file;
  constexpr int kThreads = 4, kLines = 2000;
  {
    auto logger = LoggerOn(std::make_shared<BufferedLogSink>(
        file.fd(), absl::Milliseconds(1), 1024));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kLines; ++i) logger->info("t{} line {}", t, i);
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  const std::string text = file.Contents();
  for (int t = 0; t < kThreads; ++t) {
    for (int i : {0, kLines / 2, kLines - 1}) {
      const std::string line =
          "info t" + std::to_string(t) + " line " + std::to_string(i) + "\n";
      EXPECT_EQ(text.find(line), text.rfind(line)) << line;
      EXPECT_NE(text.find(line), std::string::npos) << line;
    }
  }
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), kThreads * kLines);
}

std::set<std::string> ThreadIds() {
  std::set<std::string> ids;
  if (DIR* tasks = ::opendir("/proc/self/task")) {
    while (const dirent* entry = ::readdir(tasks)) {
      if (entry->d_name[0] != '.') ids.insert(entry->d_name);
    }
    ::closedir(tasks);
  }
  return ids;
}

// The signals thread `id` blocks (its SigBlk line), as a bit mask.
uint64_t BlockedSignals(const std::string& id) {
  std::ifstream status("/proc/self/task/" + id + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("SigBlk:", 0) == 0)
      return std::stoull(line.substr(7), nullptr, 16);
  }
  return 0;
}

// A sink thread that could take SIGINT/SIGTERM would get them with their
// default action and kill avesd instead of letting its sigwait drain it.
TEST(BufferedLogSinkTest, ItsThreadTakesNoSignalsAndTheCallersMaskStays) {
  sigset_t before;
  pthread_sigmask(SIG_SETMASK, nullptr, &before);
  ASSERT_FALSE(sigismember(&before, SIGINT));  // as the test runner starts
  const std::set<std::string> existing = ThreadIds();
  LogFile file;
  BufferedLogSink sink(file.fd(), absl::Hours(1));
  std::vector<std::string> started;
  for (const std::string& id : ThreadIds())
    if (!existing.count(id)) started.push_back(id);
  ASSERT_EQ(started.size(), 1u);
  const uint64_t blocked = BlockedSignals(started[0]);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) {
    EXPECT_TRUE(blocked & (uint64_t{1} << (signal_number - 1)))
        << "signal " << signal_number;
  }
  sigset_t after;
  pthread_sigmask(SIG_SETMASK, nullptr, &after);
  EXPECT_FALSE(sigismember(&after, SIGINT));
  EXPECT_FALSE(sigismember(&after, SIGTERM));
}

}  // namespace
}  // namespace aves::observability
