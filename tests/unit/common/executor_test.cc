#include "server/common/executor.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <absl/synchronization/notification.h>
#include <gtest/gtest.h>

namespace aves::common {
namespace {

TEST(ExecutorTest, RunsEveryPostedTaskOnItsThreads) {
  std::atomic<int> ran{0};
  std::mutex mutex;
  std::set<std::thread::id> threads;
  {
    Executor executor(3, 1000);
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(executor.Post([&] {
        ++ran;
        std::lock_guard<std::mutex> lock(mutex);
        threads.insert(std::this_thread::get_id());
      }));
    }
  }  // the destructor runs what is queued, then joins
  EXPECT_EQ(ran, 300);
  EXPECT_LE(threads.size(), 3u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(ExecutorTest, RefusesWorkBeyondItsQueueBound) {
  absl::Notification release;
  std::atomic<int> ran{0};
  {
    Executor executor(1, 2);
    absl::Notification started;
    ASSERT_TRUE(executor.Post([&] {
      started.Notify();
      release.WaitForNotification();
      ++ran;
    }));
    started.WaitForNotification();  // the only thread is busy
    EXPECT_TRUE(executor.Post([&] { ++ran; }));
    EXPECT_TRUE(executor.Post([&] { ++ran; }));
    EXPECT_FALSE(executor.Post([&] { ++ran; })) << "two already queued";
    release.Notify();
  }
  EXPECT_EQ(ran, 3);
}

TEST(ExecutorTest, RunsQueuedWorkInArrivalOrderOnOneThread) {
  std::vector<int> order;
  {
    Executor executor(1, 100);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(executor.Post([&order, i] { order.push_back(i); }));
    }
  }
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
}

}  // namespace
}  // namespace aves::common
