// The pool's rules with fake connections: no database, no gRPC, so this runs
// under ThreadSanitizer too (scripts/test builds it with -DAVES_TSAN=ON).
#include "server/db/pool.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <absl/synchronization/notification.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aves::db {
namespace {

using common::CallContext;

using ::testing::HasSubstr;

// Shared by a fake connection and the test.
struct FakeState {
  std::atomic<bool> alive{true};
  std::atomic<bool> honours_cancel{true};
  std::atomic<int> cancels{0};
  std::atomic<int> aborts{0};
  std::atomic<int> users{0};  // concurrent users; must never exceed 1
  std::atomic<bool> overlapped{false};
};

class FakeConnection final : public PooledConnection {
 public:
  explicit FakeConnection(std::shared_ptr<FakeState> state)
      : state_(std::move(state)) {}
  bool LooksAlive() override { return state_->alive; }
  void Cancel() override { ++state_->cancels; }
  void Abort() override { ++state_->aborts; }
  FakeState& state() { return *state_; }

 private:
  std::shared_ptr<FakeState> state_;
};

class FakeConnector final : public Connector {
 public:
  absl::StatusOr<std::unique_ptr<PooledConnection>> Connect() override {
    ++attempts;
    if (!up)
      return absl::UnavailableError("database unreachable: connection refused");
    auto state = std::make_shared<FakeState>();
    {
      std::lock_guard<std::mutex> lock(mutex);
      states.push_back(state);
    }
    return std::unique_ptr<PooledConnection>(new FakeConnection(state));
  }
  std::atomic<bool> up{true};
  std::atomic<int> attempts{0};
  std::mutex mutex;
  std::vector<std::shared_ptr<FakeState>> states;
};

PoolOptions SmallPool(int min, int max) {
  PoolOptions options;
  options.min_connections = min;
  options.max_connections = max;
  options.acquire_timeout = absl::Seconds(30);
  options.validate_after_idle = absl::ZeroDuration();
  options.backoff_initial = absl::Milliseconds(20);
  options.backoff_max = absl::Milliseconds(200);
  return options;
}

// Polls `condition` for up to 20 s: "must not hang" bounds, not timing claims.
template <typename Condition>
bool Eventually(Condition condition) {
  for (int i = 0; i < 2000; ++i) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return condition();
}

class PoolTest : public ::testing::Test {
 protected:
  void Make(PoolOptions options) {
    auto connector = std::make_unique<FakeConnector>();
    connector_ = connector.get();
    pool_ = std::make_unique<Pool>(options, std::move(connector));
    pool_->Start();
  }
  FakeConnection& Fake(const Lease& lease) {
    return static_cast<FakeConnection&>(lease.connection());
  }
  FakeConnector* connector_ = nullptr;
  std::unique_ptr<Pool> pool_;
};

TEST_F(PoolTest, OpensTheMinimumBeforeReady) {
  Make(SmallPool(3, 10));
  EXPECT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  EXPECT_TRUE(pool_->Ready());
  PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.total, 3);
  EXPECT_EQ(stats.idle, 3);
  EXPECT_EQ(stats.opened, 3);
}

TEST_F(PoolTest, ReusesAReturnedConnection) {
  Make(SmallPool(1, 4));
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  uint64_t first = 0;
  {
    absl::StatusOr<Lease> lease = pool_->Acquire({});
    ASSERT_TRUE(lease.ok()) << lease.status();
    first = lease->connection_id();
    EXPECT_EQ(pool_->Stats().in_use, 1);
  }
  EXPECT_EQ(pool_->Stats().in_use, 0);
  absl::StatusOr<Lease> again = pool_->Acquire({});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->connection_id(), first);
}

TEST_F(PoolTest, WaitersAreServedInArrivalOrder) {
  Make(SmallPool(1, 1));
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  absl::StatusOr<Lease> held = pool_->Acquire({});
  ASSERT_TRUE(held.ok());
  std::mutex order_mutex;
  std::vector<int> order;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 5; ++i) {
    waiters.emplace_back([&, i] {
      absl::StatusOr<Lease> lease = pool_->Acquire({});
      ASSERT_TRUE(lease.ok()) << lease.status();
      std::lock_guard<std::mutex> lock(order_mutex);
      order.push_back(i);
    });
    // Each waiter is queued before the next one starts.
    ASSERT_TRUE(Eventually([&] { return pool_->Stats().waiting == i + 1; }));
  }
  *held = Lease();  // release: the waiters run one after another
  for (std::thread& waiter : waiters) waiter.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(PoolTest, InteractiveWaitersAreServedBeforeBulkOnes) {
  Make(SmallPool(1, 1));
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  absl::StatusOr<Lease> held = pool_->Acquire({});
  ASSERT_TRUE(held.ok());
  std::mutex order_mutex;
  std::vector<std::string> order;
  std::vector<std::thread> waiters;
  for (const bool bulk : {true, true, false}) {
    const int queued = static_cast<int>(waiters.size());
    waiters.emplace_back([&, bulk] {
      common::CallContext context;
      context.bulk = bulk;
      absl::StatusOr<Lease> lease = pool_->Acquire(context);
      ASSERT_TRUE(lease.ok()) << lease.status();
      std::lock_guard<std::mutex> lock(order_mutex);
      order.push_back(bulk ? "bulk" : "lookup");
    });
    ASSERT_TRUE(
        Eventually([&] { return pool_->Stats().waiting == queued + 1; }));
  }
  *held = Lease();
  for (std::thread& waiter : waiters) waiter.join();
  EXPECT_EQ(order, (std::vector<std::string>{"lookup", "bulk", "bulk"}));
}

TEST_F(PoolTest, TheMinimumStaysOpenBesideWhatBulkWorkHolds) {
  Make(SmallPool(2, 10));
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  common::CallContext bulk;
  bulk.bulk = true;
  std::vector<Lease> held;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Lease> lease = pool_->Acquire(bulk);
    ASSERT_TRUE(lease.ok()) << lease.status();
    held.push_back(*std::move(lease));
  }
  // Two idle connections again, ready for the next lookup.
  EXPECT_TRUE(Eventually([&] { return pool_->Stats().idle == 2; }));
  EXPECT_EQ(pool_->Stats().total, 5);
  // An interactive caller holding connections does not grow the pool.
  absl::StatusOr<Lease> lookup = pool_->Acquire({});
  ASSERT_TRUE(lookup.ok());
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(pool_->Stats().total, 5);
}

TEST_F(PoolTest, BulkWorkLeavesTheReserveToInteractiveCalls) {
  PoolOptions options = SmallPool(2, 4);
  options.interactive_reserve = 2;
  Make(options);
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  common::CallContext bulk;
  bulk.bulk = true;
  std::vector<Lease> held;
  for (int i = 0; i < 2; ++i) {
    // Each waits for a connection of its own: the two idle ones stay.
    absl::StatusOr<Lease> lease = pool_->Acquire(bulk);
    ASSERT_TRUE(lease.ok()) << lease.status();
    EXPECT_GE(pool_->Stats().idle, 2);
    held.push_back(*std::move(lease));
  }
  EXPECT_EQ(pool_->Stats().total, 4);
  // At the maximum a third bulk caller waits; lookups get the reserve.
  std::thread third([&] {
    absl::StatusOr<Lease> lease = pool_->Acquire(bulk);
    EXPECT_TRUE(lease.ok()) << lease.status();
  });
  ASSERT_TRUE(Eventually([&] { return pool_->Stats().waiting == 1; }));
  absl::StatusOr<Lease> lookup = pool_->Acquire({});
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  absl::StatusOr<Lease> another = pool_->Acquire({});
  ASSERT_TRUE(another.ok()) << another.status();
  EXPECT_EQ(pool_->Stats().waiting, 1) << "the bulk caller still waits";
  // A bulk lease comes back: the two lookups hold the reserve, so the
  // waiting bulk caller may have it.
  held.pop_back();
  third.join();  // did not hang: it got the connection
}

TEST_F(PoolTest, RefusesAtOncePastMaxWaiters) {
  PoolOptions options = SmallPool(1, 1);
  options.max_waiters = 2;
  Make(options);
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  absl::StatusOr<Lease> held = pool_->Acquire({});
  ASSERT_TRUE(held.ok());
  std::vector<std::thread> waiters;
  for (int i = 0; i < 2; ++i) {
    waiters.emplace_back([&] { EXPECT_TRUE(pool_->Acquire({}).ok()); });
  }
  ASSERT_TRUE(Eventually([&] { return pool_->Stats().waiting == 2; }));
  absl::StatusOr<Lease> refused = pool_->Acquire({});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("DB_MAX_WAITERS=2"));
  EXPECT_EQ(pool_->Stats().rejected_full, 1);
  *held = Lease();
  for (std::thread& waiter : waiters) waiter.join();
}

TEST_F(PoolTest, AWaiterGivesUpAtItsDeadlineOrTheAcquireTimeout) {
  PoolOptions options = SmallPool(1, 1);
  options.acquire_timeout = absl::Milliseconds(50);
  Make(options);
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  absl::StatusOr<Lease> held = pool_->Acquire({});
  ASSERT_TRUE(held.ok());
  // Bounded by DB_ACQUIRE_TIMEOUT, before the caller's deadline: the
  // service is saturated, the caller did not run out of time.
  EXPECT_EQ(pool_->Acquire({}).status().code(),
            absl::StatusCode::kResourceExhausted);
  // Bounded by the caller's deadline (already past here).
  CallContext late;
  late.deadline = absl::Now() - absl::Milliseconds(1);
  EXPECT_EQ(pool_->Acquire(late).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.acquire_timeouts, 2);
  EXPECT_EQ(stats.waiting, 0);
}

TEST_F(PoolTest, UnreachableDatabaseFailsFastWithUnavailableAndBacksOff) {
  auto connector = std::make_unique<FakeConnector>();
  connector->up = false;
  FakeConnector* fake = connector.get();
  PoolOptions options = SmallPool(2, 4);
  options.backoff_initial = absl::Milliseconds(100);
  options.backoff_max = absl::Seconds(1);
  Pool pool(options, std::move(connector));
  pool.Start();
  EXPECT_FALSE(pool.WaitUntilReady(absl::Seconds(20)));
  absl::StatusOr<Lease> lease = pool.Acquire({});
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(lease.status().message()),
              HasSubstr("database unreachable"));
  EXPECT_THAT(std::string(lease.status().message()),
              ::testing::Not(HasSubstr("exhausted")));
  // Doubling back-off: a second of failures is a handful of attempts, not a
  // storm.
  const int before = fake->attempts;
  absl::SleepFor(absl::Seconds(1));
  EXPECT_LE(fake->attempts - before, 6);
  EXPECT_FALSE(pool.Stats().database_reachable);

  fake->up = true;  // the database comes back
  EXPECT_TRUE(pool.WaitUntilReady(absl::Seconds(20)) ||
              Eventually([&] { return pool.Ready(); }));
  EXPECT_TRUE(pool.Acquire({}).ok());
  EXPECT_TRUE(pool.Stats().database_reachable);
}

TEST_F(PoolTest, WaitersGetUnavailableWhenTheDatabaseGoesAway) {
  Make(SmallPool(0, 1));
  connector_->up = false;
  absl::StatusOr<Lease> lease = pool_->Acquire({});
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PoolTest, ADeadIdleConnectionIsNeverLent) {
  Make(SmallPool(2, 2));
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  {
    std::lock_guard<std::mutex> lock(connector_->mutex);
    for (auto& state : connector_->states)
      state->alive = false;  // e.g. terminated
  }
  absl::StatusOr<Lease> lease = pool_->Acquire({});
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_TRUE(Fake(*lease).state().alive);
  EXPECT_EQ(pool_->Stats().discarded.at("failed_check"), 2);
}

TEST_F(PoolTest, ABrokenConnectionRetiresTheIdleOnesOpenedBeforeIt) {
  Make(SmallPool(3, 3));
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  std::set<uint64_t> old_ids;
  {
    absl::StatusOr<Lease> lease = pool_->Acquire({});
    ASSERT_TRUE(lease.ok());
    old_ids.insert(lease->connection_id());
    lease->Discard(DiscardReason::kBroken);  // e.g. 57P01 admin shutdown
  }
  PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.discarded.at("broken"), 1);
  EXPECT_EQ(stats.discarded.at("retired_after_server_restart"), 2);
  // Refilled with new connections only.
  ASSERT_TRUE(Eventually([&] { return pool_->Stats().idle == 3; }));
  std::vector<Lease> leases;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Lease> lease = pool_->Acquire({});
    ASSERT_TRUE(lease.ok());
    EXPECT_GT(lease->connection_id(), 3u);
    leases.push_back(*std::move(lease));
  }
}

TEST_F(PoolTest, IdleConnectionsAboveTheMinimumClose) {
  PoolOptions options = SmallPool(1, 4);
  options.idle_timeout = absl::Milliseconds(100);
  Make(options);
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  {
    std::vector<Lease> leases;
    for (int i = 0; i < 4; ++i) {
      absl::StatusOr<Lease> lease = pool_->Acquire({});
      ASSERT_TRUE(lease.ok());
      leases.push_back(*std::move(lease));
    }
  }
  EXPECT_EQ(pool_->Stats().total, 4);
  EXPECT_TRUE(Eventually([&] { return pool_->Stats().total == 1; }));
  EXPECT_EQ(pool_->Stats().discarded.at("idle_timeout"), 3);
}

TEST_F(PoolTest, ConnectionsPastTheirLifetimeAreReplaced) {
  PoolOptions options = SmallPool(1, 1);
  options.max_lifetime = absl::Milliseconds(100);
  Make(options);
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  uint64_t first = 0;
  {
    absl::StatusOr<Lease> lease = pool_->Acquire({});
    ASSERT_TRUE(lease.ok());
    first = lease->connection_id();
  }
  EXPECT_TRUE(Eventually([&] {
    absl::StatusOr<Lease> lease = pool_->Acquire({});
    return lease.ok() && lease->connection_id() != first;
  }));
  EXPECT_GE(pool_->Stats().discarded.at("max_lifetime"), 1);
}

TEST_F(PoolTest,
       TheWatchdogCancelsACallAtItsDeadlineAndTheConnectionIsDiscarded) {
  Make(SmallPool(1, 1));
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  uint64_t id = 0;
  {
    CallContext context;
    context.deadline = absl::Now() + absl::Milliseconds(30);
    absl::StatusOr<Lease> lease = pool_->Acquire(context);
    ASSERT_TRUE(lease.ok());
    id = lease->connection_id();
    EXPECT_TRUE(Eventually([&] { return Fake(*lease).state().cancels == 1; }));
    EXPECT_TRUE(lease->cancel_issued());
  }
  PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.cancels, 1);
  EXPECT_EQ(stats.discarded.at("cancelled"), 1);
  absl::StatusOr<Lease> next = pool_->Acquire({});
  ASSERT_TRUE(next.ok());
  EXPECT_NE(next->connection_id(), id);
}

TEST_F(PoolTest, TheWatchdogCancelsWhenTheCallerCancels) {
  Make(SmallPool(1, 1));
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  std::atomic<bool> gone{false};
  CallContext context;
  context.cancelled = [&gone] { return gone.load(); };
  absl::StatusOr<Lease> lease = pool_->Acquire(context);
  ASSERT_TRUE(lease.ok());
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(Fake(*lease).state().cancels, 0);
  EXPECT_FALSE(lease->cancel_issued());
  gone = true;
  EXPECT_TRUE(Eventually([&] { return Fake(*lease).state().cancels == 1; }));
  EXPECT_TRUE(lease->cancel_issued());
}

TEST_F(PoolTest, ACallThatIgnoresItsCancelIsAborted) {
  PoolOptions options = SmallPool(1, 1);
  options.cancel_grace = absl::Milliseconds(50);
  Make(options);
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  CallContext context;
  context.deadline = absl::Now();
  absl::StatusOr<Lease> lease = pool_->Acquire(context);
  ASSERT_TRUE(lease.ok());
  EXPECT_TRUE(Eventually([&] { return Fake(*lease).state().aborts == 1; }));
  EXPECT_TRUE(lease->cancel_issued());
  EXPECT_EQ(pool_->Stats().aborts, 1);
}

TEST_F(PoolTest, ALeaseHeldTooLongIsReported) {
  PoolOptions options = SmallPool(1, 1);
  options.lease_warn = absl::Milliseconds(30);
  Make(options);
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  CallContext context;
  context.holder = "PoolTest.Leaker";
  absl::StatusOr<Lease> lease = pool_->Acquire(context);
  ASSERT_TRUE(lease.ok());
  EXPECT_TRUE(Eventually([&] { return pool_->Stats().lease_warnings == 1; }));
}

TEST_F(PoolTest, CountsErrorsByCodeInASlidingMinute) {
  Make(SmallPool(1, 1));
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  for (const auto& [elapsed, status] :
       {std::pair{absl::Milliseconds(3), absl::OkStatus()},
        std::pair{absl::Milliseconds(5), absl::DeadlineExceededError("slow")},
        std::pair{absl::Milliseconds(1),
                  absl::DeadlineExceededError("slow")}}) {
    absl::StatusOr<Lease> lease = pool_->Acquire({});
    ASSERT_TRUE(lease.ok());
    lease->RecordOutcome(elapsed, status);
    EXPECT_FALSE(lease->cancel_issued());
  }
  PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.errors.at("DEADLINE_EXCEEDED"), 2);
  EXPECT_EQ(stats.errors_last_minute, 2);
  EXPECT_EQ(stats.query_time.count, 3);
  EXPECT_GE(stats.query_time.max, absl::Milliseconds(5));
}

TEST_F(PoolTest, HandOffsToWaitersAreNeverMistakenForOverdueCalls) {
  // A connection handed to a waiter is watched from the moment it is handed
  // over. It once sat in in_use_ with a zero deadline until the waiter woke,
  // and the watchdog could cancel it. The window is microseconds, so this
  // stress test rarely hits it; pool_pgtest's KilledBusyReads (a burst of
  // hand-offs after a mass reconnect) is what caught it.
  Make(SmallPool(1, 1));
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  // Many waiters make many hand-offs, each with a wake-up the watchdog could
  // fall into.
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        absl::StatusOr<Lease> lease = pool_->Acquire({});
        ASSERT_TRUE(lease.ok()) << lease.status();
        EXPECT_FALSE(lease->cancel_issued());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.cancels, 0);
  EXPECT_EQ(stats.lease_warnings, 0);
  EXPECT_EQ(stats.opened, 1);
}

TEST_F(PoolTest, NeverLendsOneConnectionToTwoCallers) {
  Make(SmallPool(2, 4));
  ASSERT_TRUE(pool_->WaitUntilReady(absl::Seconds(20)));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<Lease> lease = pool_->Acquire({});
        if (!lease.ok()) {
          ++failures;
          continue;
        }
        FakeState& state = Fake(*lease).state();
        if (++state.users > 1) state.overlapped = true;
        std::this_thread::yield();
        --state.users;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  std::lock_guard<std::mutex> lock(connector_->mutex);
  for (auto& state : connector_->states) EXPECT_FALSE(state->overlapped);
  PoolStats stats = pool_->Stats();
  EXPECT_LE(stats.total, 4);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.acquired, 16 * 200);
}

}  // namespace
}  // namespace aves::db
