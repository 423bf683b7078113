// The client library's coalescing (client/lib/lookup_coalescer) against a
// real avesd: concurrent Gets become few calls and each caller gets its own
// answer; a lone Get is one GetExercise; a caller's short deadline fails
// only that caller, at its deadline; a caller that cancels leaves the
// others' call going on; duplicates go once; one caller's bad key fails
// only that caller.
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <absl/strings/str_format.h>
#include <absl/synchronization/notification.h>
#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "client/lib/channel.h"
#include "client/lib/exercise_cache_client.h"
#include "tests/support/avesd_process.h"
#include "tests/support/http_get.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;
namespace v1 = data::v1;

std::string UserId(int n) {
  return absl::StrFormat("00000000-0000-4000-8000-%012d", n);
}

v1::GetExerciseRequest Key(int user) {
  v1::GetExerciseRequest key;
  key.set_user_id(UserId(user));
  key.set_exercise_type("identify");
  key.set_difficulty_level(2);
  return key;
}

class CoalescingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("coalescing");
    ASSERT_OK(database);
    database_ = *std::move(database);
    avesd_ = std::make_unique<testing::AvesdProcess>(database_->conninfo());
    ASSERT_FALSE(avesd_->Address().empty()) << avesd_->process().Stderr();
    // Users 0..99 have an entry.
    pqxx::nontransaction(*database_->Connect())
        .exec(
            "INSERT INTO exercise_cache (user_id, exercise_type, "
            "difficulty_level, exercise_data) SELECT "
            "('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, "
            "'identify', 2, jsonb_build_object('user', i) FROM "
            "generate_series(0, 99) AS i");
  }

  std::unique_ptr<client::ExerciseCacheClient> Client(int max_in_flight = 2) {
    client::Coalescing coalescing;
    coalescing.options.max_in_flight = max_in_flight;
    return std::make_unique<client::ExerciseCacheClient>(
        client::MakeChannel(avesd_->Address()),
        client::CallOptions{absl::Seconds(20)}, coalescing);
  }

  double Handled(const std::string& method) {
    const std::string scrape =
        testing::HttpGet(avesd_->HttpAddress(), "/metrics").body;
    double total = 0;
    for (const char* code : {"OK", "NotFound", "InvalidArgument"}) {
      total += std::max(
          0.0,
          testing::MetricValue(
              scrape, absl::StrCat("grpc_server_handled_total{grpc_type="
                                   "\"unary\",grpc_service=\"aves.data."
                                   "v1.ExerciseCacheService\",grpc_"
                                   "method=\"",
                                   method, "\",grpc_code=\"", code, "\"}")));
    }
    return total;
  }

  // Holds the table locked, so a lookup waits in PostgreSQL until Release.
  void Lock() {
    lock_connection_ = database_->Connect();
    lock_ = std::make_unique<pqxx::work>(*lock_connection_);
    lock_->exec("LOCK TABLE exercise_cache IN ACCESS EXCLUSIVE MODE");
  }
  void Release() {
    lock_->commit();
    lock_.reset();
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<testing::AvesdProcess> avesd_;
  std::unique_ptr<pqxx::connection> lock_connection_;
  std::unique_ptr<pqxx::work> lock_;
};

TEST_F(CoalescingTest, ConcurrentGetsBecomeFewCallsEachWithItsOwnAnswer) {
  auto cache = Client();
  constexpr int kThreads = 64, kEach = 5;
  absl::Notification go;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      go.WaitForNotification();
      for (int i = 0; i < kEach; ++i) {
        const int user = (t * 7 + i * 13) % 150;  // a third miss
        absl::StatusOr<v1::Exercise> got = cache->GetExercise(Key(user));
        const bool ok = user < 100
                            ? got.ok() && got->user_id() == UserId(user) &&
                                  got->exercise_data() ==
                                      absl::StrFormat(R"({"user": %d})", user)
                            : absl::IsNotFound(got.status());
        if (!ok) ++wrong;
      }
    });
  }
  go.Notify();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  const int64_t calls = cache->coalesced_calls();
  EXPECT_LT(calls, kThreads * kEach / 2) << "Gets were not coalesced";
  EXPECT_GE(Handled("BatchGetExercises"), 1);
  EXPECT_EQ(Handled("BatchGetExercises") + Handled("GetExercise"), calls);
}

TEST_F(CoalescingTest, ALoneGetIsOneGetExerciseAtOnce) {
  auto cache = Client();
  ASSERT_OK(cache->GetExercise(Key(5)));
  EXPECT_THAT(cache->GetExercise(Key(500)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(cache->coalesced_calls(), 2);
  EXPECT_EQ(Handled("GetExercise"), 2);
  EXPECT_EQ(Handled("BatchGetExercises"), 0);
}

TEST_F(CoalescingTest, AShortDeadlineFailsOnlyItsCallerAtItsDeadline) {
  auto cache = Client(/*max_in_flight=*/1);
  Lock();
  absl::StatusOr<v1::Exercise> stuck, patient, hasty;
  std::thread first([&] { stuck = cache->GetExercise(Key(1)); });
  absl::SleepFor(absl::Milliseconds(300));  // its call waits on the lock
  std::thread second([&] { patient = cache->GetExercise(Key(2)); });
  const absl::Time asked = absl::Now();
  hasty = cache->GetExercise(Key(3), absl::Milliseconds(300));
  const absl::Duration waited = absl::Now() - asked;
  EXPECT_THAT(hasty, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(waited, absl::Seconds(5)) << "answered at its deadline, not later";
  Release();
  first.join();
  second.join();
  EXPECT_OK(stuck);
  EXPECT_OK(patient);
  EXPECT_EQ(patient->user_id(), UserId(2));
}

TEST_F(CoalescingTest, ACancelledCallerLeavesTheOthersCallGoingOn) {
  auto cache = Client(/*max_in_flight=*/1);
  Lock();
  absl::Notification answered[3];
  absl::StatusOr<v1::Exercise> got[3];
  auto get = [&](int i) {
    return cache->GetExerciseAsync(Key(i + 1),
                                   [&, i](absl::StatusOr<v1::Exercise> result) {
                                     got[i] = std::move(result);
                                     answered[i].Notify();
                                   });
  };
  std::function<void()> cancel_first = get(0);
  absl::SleepFor(absl::Milliseconds(200));  // its call waits on the lock
  std::function<void()> cancel_second = get(1);
  get(2);
  // The first call has no one left: it is cancelled, and the second and
  // third keys go as one call.
  cancel_first();
  ASSERT_TRUE(answered[0].WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_THAT(got[0], StatusIs(absl::StatusCode::kCancelled));
  absl::SleepFor(absl::Milliseconds(200));  // that call waits on the lock
  // One of its two members leaves; the call goes on for the other.
  cancel_second();
  ASSERT_TRUE(answered[1].WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_THAT(got[1], StatusIs(absl::StatusCode::kCancelled));
  EXPECT_FALSE(answered[2].HasBeenNotified());
  Release();
  ASSERT_TRUE(answered[2].WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_OK(got[2]);
  EXPECT_EQ(got[2]->user_id(), UserId(3));
  EXPECT_EQ(Handled("BatchGetExercises"), 1) << "answered, not cancelled";
  cancel_second();  // after the answer: nothing happens
}

TEST_F(CoalescingTest, DuplicateKeysGoOnceAndABadKeyFailsOnlyItsCaller) {
  auto cache = Client(/*max_in_flight=*/1);
  Lock();
  std::thread first([&] { (void)cache->GetExercise(Key(1)); });
  absl::SleepFor(absl::Milliseconds(300));
  std::vector<absl::StatusOr<v1::Exercise>> same(10);
  std::vector<std::thread> queued;
  for (int i = 0; i < 10; ++i) {
    queued.emplace_back([&, i] { same[i] = cache->GetExercise(Key(42)); });
  }
  absl::SleepFor(absl::Milliseconds(300));
  Release();
  first.join();
  for (std::thread& thread : queued) thread.join();
  for (const auto& got : same) {
    ASSERT_OK(got);
    EXPECT_EQ(got->user_id(), UserId(42));
  }
  EXPECT_EQ(cache->coalesced_calls(), 2) << "the ten went as one key";

  // A bad key among good ones: the batch is refused, then each key goes
  // alone and only the bad one's caller hears of it.
  Lock();
  std::thread blocker([&] { (void)cache->GetExercise(Key(1)); });
  absl::SleepFor(absl::Milliseconds(300));
  absl::StatusOr<v1::Exercise> good, bad;
  std::thread good_caller([&] { good = cache->GetExercise(Key(7)); });
  std::thread bad_caller([&] {
    v1::GetExerciseRequest broken = Key(8);
    broken.set_difficulty_level(9);
    bad = cache->GetExercise(broken);
  });
  absl::SleepFor(absl::Milliseconds(300));
  Release();
  blocker.join();
  good_caller.join();
  bad_caller.join();
  ASSERT_OK(good);
  EXPECT_EQ(good->user_id(), UserId(7));
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument,
                            HasSubstr("difficulty_level")));
  EXPECT_THAT(std::string(bad.status().message()),
              ::testing::Not(HasSubstr("requests[")));
}

}  // namespace
}  // namespace aves
