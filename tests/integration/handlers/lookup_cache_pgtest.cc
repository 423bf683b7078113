// avesd's in-process lookup cache against real PostgreSQL and real avesd
// servers: read-your-writes, a second avesd on the same database seeing a
// Put through the first, direct SQL writes invalidating, expiry to the
// millisecond, the invalidation feed's connection terminated or gone
// silent (flush and bypass), the bound in bytes, singleflight, and a leader's
// deadline that does not fail the lookups waiting on it.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "client/lib/admin_client.h"
#include "client/lib/exercise_cache_client.h"
#include "tests/support/in_process_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

namespace v1 = data::v1;
using ::aves::testing::StatusIs;
using ::testing::Gt;
using ::testing::Le;

constexpr char kUser[] = "6a1f0c2e-8d4b-4c3a-9e57-0b2d4f6a8c10";
// The bound on any wait here: only a broken cache waits this long.
constexpr absl::Duration kPatience = absl::Seconds(10);

v1::GetExerciseRequest Key(const std::string& user = kUser,
                           int difficulty = 2) {
  v1::GetExerciseRequest key;
  key.set_user_id(user);
  key.set_exercise_type("identify");
  key.set_difficulty_level(difficulty);
  return key;
}

v1::PutExerciseRequest Put(const std::string& data,
                           const std::string& user = kUser) {
  v1::PutExerciseRequest put;
  put.set_user_id(user);
  put.set_exercise_type("identify");
  put.set_difficulty_level(2);
  put.set_exercise_data(data);
  return put;
}

class LookupCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("lookup_cache");
    ASSERT_OK(database);
    database_ = *std::move(database);
  }

  std::unique_ptr<testing::InProcessServer> Serve(
      const std::function<void(config::Config&)>& adjust = {}) {
    auto server =
        testing::InProcessServer::Start(database_->conninfo(), adjust);
    EXPECT_OK(server);
    return server.ok() ? *std::move(server) : nullptr;
  }
  // Uncoalesced: each Get here is one RPC, so the server sees what the
  // test sends.
  static client::ExerciseCacheClient Client(
      const testing::InProcessServer& server) {
    client::Coalescing off;
    off.enabled = false;
    return client::ExerciseCacheClient(server.channel(), {}, off);
  }
  static v1::GetCacheStatsResponse Stats(
      const testing::InProcessServer& server) {
    absl::StatusOr<v1::GetCacheStatsResponse> stats =
        client::AdminClient(server.channel()).GetCacheStats();
    EXPECT_OK(stats);
    return stats.ok() ? *stats : v1::GetCacheStatsResponse();
  }
  // exercise_data of the answer, "" on NOT_FOUND (or a failure, reported).
  static std::string DataOf(absl::StatusOr<v1::Exercise> got) {
    if (!got.ok()) {
      EXPECT_TRUE(absl::IsNotFound(got.status())) << got.status();
      return "";
    }
    return got->exercise_data();
  }
  // Asks until the answer's data is `want` (within kPatience); how long it
  // took.
  static absl::StatusOr<absl::Duration> Until(
      client::ExerciseCacheClient& cache, const std::string& want) {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < kPatience) {
      if (DataOf(cache.GetExercise(Key())) == want) return absl::Now() - start;
      absl::SleepFor(absl::Milliseconds(2));
    }
    return absl::DeadlineExceededError(
        absl::StrCat("never saw ", want.empty() ? "a miss" : want));
  }
  // Asks until a Get is a hit answering `want` (within kPatience): the
  // first fill after a write may race that write's own notification, which
  // then drops it.
  static bool CachedAs(const testing::InProcessServer& server,
                       client::ExerciseCacheClient& cache,
                       const std::string& want) {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < kPatience) {
      const uint64_t hits = Stats(server).hits();
      const std::string got = DataOf(cache.GetExercise(Key()));
      if (got != want) {
        ADD_FAILURE() << "answered " << got << ", not " << want;
        return false;
      }
      if (Stats(server).hits() > hits) return true;
    }
    ADD_FAILURE() << want << " was never answered from the cache";
    return false;
  }
  void Sql(const std::string& statement) {
    pqxx::nontransaction(*database_->Connect()).exec(statement);
  }
  int64_t LookupStatements() {
    return database_->StatementCalls(
        {"lookup_exercise", "lookup_exercises_batch"});
  }

  std::unique_ptr<testing::TestDatabase> database_;
};

TEST_F(LookupCacheTest, RepeatedLookupsAreHitsAndAPutIsReadBackAtOnce) {
  auto server = Serve();
  ASSERT_NE(server, nullptr);
  client::ExerciseCacheClient cache = Client(*server);
  EXPECT_THAT(cache.GetExercise(Key()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(cache.GetExercise(Key()), StatusIs(absl::StatusCode::kNotFound));
  v1::GetCacheStatsResponse stats = Stats(*server);
  EXPECT_TRUE(stats.enabled());
  EXPECT_FALSE(stats.bypassed());
  EXPECT_EQ(stats.negative_hits(), 1) << "the second miss is remembered";
  for (int round = 0; round < 20; ++round) {
    const std::string data = absl::StrCat(R"({"round": )", round, "}");
    ASSERT_OK(cache.PutExercise(Put(data)));
    // The very next Get through this avesd sees it: no wait, no retry.
    EXPECT_EQ(DataOf(cache.GetExercise(Key())), data) << round;
    EXPECT_EQ(DataOf(cache.GetExercise(Key())), data) << round;
  }
  stats = Stats(*server);
  // A round's second Get is a hit unless the Put's own notification came
  // in after the first Get's fill (and dropped it).
  EXPECT_GT(stats.hits(), 0);
  EXPECT_GT(stats.bytes(), 0);
  EXPECT_EQ(stats.entries(), 1) << "one key, its answer replaced";
}

TEST_F(LookupCacheTest, ASecondAvesdSeesAPutThroughTheFirst) {
  auto first = Serve();
  auto second = Serve();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  client::ExerciseCacheClient writer = Client(*first);
  client::ExerciseCacheClient reader = Client(*second);
  ASSERT_OK(writer.PutExercise(Put(R"({"v": 1})")));
  for (int version = 2; version <= 6; ++version) {
    // Cached at the reader (the second Get is a hit)...
    const std::string before = absl::StrCat(R"({"v": )", version - 1, "}");
    ASSERT_OK(Until(reader, before));
    ASSERT_TRUE(CachedAs(*second, reader, before));
    // ...and replaced there by a Put through the other avesd.
    const std::string after = absl::StrCat(R"({"v": )", version, "}");
    ASSERT_OK(writer.PutExercise(Put(after)));
    absl::StatusOr<absl::Duration> seen = Until(reader, after);
    ASSERT_TRUE(seen.ok()) << version << ": " << seen.status();
  }
  EXPECT_THAT(Stats(*second).invalidation_messages(), Gt(0));
}

TEST_F(LookupCacheTest, DirectSqlUpdatesAndDeletesInvalidate) {
  auto server = Serve();
  ASSERT_NE(server, nullptr);
  client::ExerciseCacheClient cache = Client(*server);
  ASSERT_OK(cache.PutExercise(Put(R"({"by": "avesd"})")));
  ASSERT_EQ(DataOf(cache.GetExercise(Key())), R"({"by": "avesd"})");
  Sql(
      absl::StrCat("UPDATE exercise_cache SET exercise_data = "
                   "'{\"by\": \"sql\"}' WHERE user_id = '",
                   kUser, "'"));
  EXPECT_OK(Until(cache, R"({"by": "sql"})"));
  Sql(absl::StrCat("DELETE FROM exercise_cache WHERE user_id = '", kUser, "'"));
  EXPECT_OK(Until(cache, ""));
  // A remembered miss goes too when another program inserts the key.
  ASSERT_EQ(DataOf(cache.GetExercise(Key())), "");
  Sql(
      absl::StrCat("INSERT INTO exercise_cache (user_id, exercise_type, "
                   "difficulty_level, exercise_data) VALUES ('",
                   kUser, "', 'identify', 2, '{\"by\": \"copy\"}')"));
  EXPECT_OK(Until(cache, R"({"by": "copy"})"));
  EXPECT_THAT(Stats(*server).invalidations(), Gt(0));
}

TEST_F(LookupCacheTest, BulkChangesAreOneMessageAndPurgingExpiredRowsNone) {
  // Misses remembered for a minute: a marker's miss ends only by its
  // invalidation.
  auto server = Serve([](config::Config& config) {
    config.cache_negative_ttl = absl::Minutes(1);
  });
  ASSERT_NE(server, nullptr);
  client::ExerciseCacheClient cache = Client(*server);
  // 500 learners, each with 10 expired rows and 10 live ones.
  Sql("INSERT INTO exercise_cache (user_id, exercise_type, difficulty_level, "
      "exercise_data, expires_at) SELECT ('00000000-0000-4000-8000-' || "
      "lpad((i % 500)::text, 12, '0'))::uuid, 'identify', 1 + i % 5, '{}', "
      "CASE WHEN i < 5000 THEN now() - interval '1 hour' END FROM "
      "generate_series(0, 9999) AS i");
  // Messages arrive in commit order: once avesd has taken in a marker
  // write (its remembered miss is gone), every earlier commit's message is
  // in too. The count of messages then.
  auto messages_through_a_marker = [&](int n) -> uint64_t {
    v1::GetExerciseRequest marker =
        Key(absl::StrFormat("00000000-0000-4000-9000-%012d", n));
    marker.set_exercise_type("marker");
    EXPECT_THAT(cache.GetExercise(marker),
                StatusIs(absl::StatusCode::kNotFound));
    Sql(
        absl::StrCat("INSERT INTO exercise_cache (user_id, exercise_type, "
                     "difficulty_level, exercise_data) VALUES ('",
                     marker.user_id(), "', 'marker', 2, '{}')"));
    for (const absl::Time start = absl::Now();
         !cache.GetExercise(marker).ok() && absl::Now() - start < kPatience;) {
      absl::SleepFor(absl::Milliseconds(2));
    }
    EXPECT_OK(cache.GetExercise(marker));
    return Stats(*server).invalidation_messages();
  };
  const uint64_t first = messages_through_a_marker(1);
  const uint64_t flushes = Stats(*server).flushes();
  // 5,000 expired rows purged in five transactions: no lookup changes.
  absl::StatusOr<v1::PurgeExpiredResponse> purged = cache.PurgeExpired(0);
  ASSERT_OK(purged);
  EXPECT_EQ(purged->deleted(), 5000);
  const uint64_t second = messages_through_a_marker(2);
  EXPECT_EQ(second - first, 1) << "the marker's own: the purge sent none";
  EXPECT_EQ(Stats(*server).flushes(), flushes);
  // 5,000 live rows of 500 learners in one statement: one flush.
  Sql("DELETE FROM exercise_cache WHERE exercise_type = 'identify'");
  EXPECT_EQ(messages_through_a_marker(3) - second, 2)
      << "the delete's and the marker's";
  EXPECT_EQ(Stats(*server).flushes(), flushes + 1);
}

TEST_F(LookupCacheTest, AnEntryIsNeverServedPastItsExpiry) {
  // Misses remembered for a minute: only expires_at can end the entry.
  auto server = Serve([](config::Config& config) {
    config.cache_negative_ttl = absl::Minutes(1);
  });
  ASSERT_NE(server, nullptr);
  client::ExerciseCacheClient cache = Client(*server);
  int served = 0;  // over every round: a slow Put may eat one round's TTL
  for (int round = 0; round < 3; ++round) {
    v1::PutExerciseRequest put = Put(absl::StrCat(R"({"ttl": )", round, "}"));
    put.mutable_ttl()->set_nanos(500'000'000);
    absl::StatusOr<v1::Exercise> stored = cache.PutExercise(put);
    ASSERT_OK(stored);
    const absl::Time expires_at = absl::FromUnixMicros(
        google::protobuf::util::TimeUtil::TimestampToMicroseconds(
            stored->expires_at()));
    while (true) {
      const absl::Time asked = absl::Now();
      absl::StatusOr<v1::Exercise> got = cache.GetExercise(Key());
      if (!got.ok()) {
        ASSERT_THAT(got, StatusIs(absl::StatusCode::kNotFound));
        // Gone by its expiry, and not long after (the caller's round trip).
        EXPECT_GE(absl::Now(), expires_at);
        break;
      }
      ++served;
      // Served means the server's clock was before expires_at, and the
      // request was sent before that.
      ASSERT_LT(asked, expires_at)
          << "served " << absl::FormatDuration(asked - expires_at)
          << " after its expiry";
      ASSERT_LT(absl::Now() - expires_at, kPatience);
      absl::SleepFor(absl::Microseconds(500));
    }
  }
  EXPECT_GT(served, 1) << "the entries were served";
  EXPECT_THAT(Stats(*server).hits(), Gt(0));
  EXPECT_THAT(Stats(*server).expirations(), Gt(0));
}

TEST_F(LookupCacheTest, ALostFeedFlushesAndBypassesUntilItIsBack) {
  auto server = Serve();
  ASSERT_NE(server, nullptr);
  client::ExerciseCacheClient cache = Client(*server);
  ASSERT_OK(cache.PutExercise(Put(R"({"v": "cached"})")));
  ASSERT_EQ(DataOf(cache.GetExercise(Key())), R"({"v": "cached"})");
  ASSERT_EQ(DataOf(cache.GetExercise(Key())), R"({"v": "cached"})");
  const uint64_t flushes = Stats(*server).flushes();
  // The feed's connection dies: notifications sent now reach no one.
  auto admin = database_->Connect();
  pqxx::nontransaction(*admin).exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
      "application_name = 'avesd cache invalidation' AND datname = "
      "current_database()");
  const absl::Time start = absl::Now();
  while (Stats(*server).feed_disconnects() == 0 &&
         absl::Now() - start < kPatience) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(Stats(*server).feed_disconnects(), 1);
  // A write in the outage (or just after, once it listens again): never
  // hidden by what was cached before.
  Sql(
      absl::StrCat("UPDATE exercise_cache SET exercise_data = "
                   "'{\"v\": \"outage\"}' WHERE user_id = '",
                   kUser, "'"));
  EXPECT_EQ(DataOf(cache.GetExercise(Key())), R"({"v": "outage"})");
  EXPECT_THAT(Stats(*server).flushes(), Gt(flushes));
  // Back: listening, caching, and invalidated by writes again.
  while (Stats(*server).bypassed() && absl::Now() - start < kPatience) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_FALSE(Stats(*server).bypassed());
  Sql(
      absl::StrCat("UPDATE exercise_cache SET exercise_data = "
                   "'{\"v\": \"after\"}' WHERE user_id = '",
                   kUser, "'"));
  EXPECT_OK(Until(cache, R"({"v": "after"})"));
  EXPECT_TRUE(CachedAs(*server, cache, R"({"v": "after"})"));
}

TEST_F(LookupCacheTest, AFeedWhoseDatabaseStopsAnsweringBypassesTheCache) {
  const int pg_port = testing::LoopbackPortOf(database_->conninfo());
  if (pg_port == 0) GTEST_SKIP() << "needs the PostgreSQL on loopback";
  absl::StatusOr<std::unique_ptr<testing::TcpProxy>> proxy =
      testing::TcpProxy::Start(pg_port);
  ASSERT_OK(proxy);
  auto server = testing::InProcessServer::Start(
      testing::WithPort(database_->conninfo(), (*proxy)->port()),
      [](config::Config& config) {
        config.feed_heartbeat = absl::Milliseconds(100);
        config.feed_dead_after = absl::Milliseconds(500);
      });
  ASSERT_OK(server);
  client::ExerciseCacheClient cache = Client(**server);
  ASSERT_OK(cache.PutExercise(Put(R"({"v": "cached"})")));
  ASSERT_OK(Until(cache, R"({"v": "cached"})"));
  ASSERT_TRUE(CachedAs(**server, cache, R"({"v": "cached"})"));
  // The database goes silent (no reset, no close): notifications could be
  // lost without anyone being told, so the heartbeat's watchdog must stop
  // the cache from answering.
  (*proxy)->Freeze();
  const absl::Time frozen = absl::Now();
  while (!Stats(**server).bypassed() && absl::Now() - frozen < kPatience) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(Stats(**server).bypassed()) << "still serving from the cache";
  // No cached answer now: the lookup goes to a database that does not
  // answer, and fails at its deadline.
  EXPECT_FALSE(cache.GetExercise(Key(), absl::Milliseconds(300)).ok());
  // Shutting down does not wait on it (a generous bound: must not hang).
  const absl::Time start = absl::Now();
  server->reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

TEST_F(LookupCacheTest, TheBoundInBytesHoldsUnderLargeEntries) {
  constexpr int64_t kMaxBytes = 1 << 20;
  auto server =
      Serve([](config::Config& config) { config.cache_max_bytes = kMaxBytes; });
  ASSERT_NE(server, nullptr);
  // 400 learners with 6 KB each: over twice what the cache may hold.
  Sql("INSERT INTO exercise_cache (user_id, exercise_type, difficulty_level, "
      "exercise_data) SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, "
      "'0'))::uuid, 'identify', 2, jsonb_build_object('pad', repeat('x', "
      "6000)) FROM generate_series(1, 400) AS i");
  client::ExerciseCacheClient cache = Client(*server);
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 1; i <= 400; ++i) {
      absl::StatusOr<v1::Exercise> got = cache.GetExercise(
          Key(absl::StrFormat("00000000-0000-4000-8000-%012d", i)));
      ASSERT_OK(got);
      ASSERT_GT(got->exercise_data().size(), 6000u);
      if (i % 50 == 0) {
        EXPECT_THAT(Stats(*server).bytes(), Le(kMaxBytes));
      }
    }
  }
  const v1::GetCacheStatsResponse stats = Stats(*server);
  EXPECT_THAT(stats.bytes(), Le(kMaxBytes));
  EXPECT_THAT(stats.bytes(), Gt(kMaxBytes / 2)) << "it does hold entries";
  EXPECT_THAT(stats.evictions(), Gt(0));
  EXPECT_LT(stats.entries(), 400);
}

TEST_F(LookupCacheTest, ConcurrentMissesOfOneKeyAreOneStatement) {
  auto server = Serve();
  ASSERT_NE(server, nullptr);
  ASSERT_OK(Client(*server).PutExercise(Put(R"({"once": true})")));
  const int64_t before = LookupStatements();
  // The first lookup waits on a lock while the others arrive.
  auto sql = database_->Connect();
  pqxx::work lock(*sql);
  lock.exec("LOCK TABLE exercise_cache IN ACCESS EXCLUSIVE MODE");
  constexpr int kCallers = 100;
  std::vector<std::string> answers(kCallers);
  std::vector<std::thread> callers;
  client::ExerciseCacheClient cache = Client(*server);
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      absl::StatusOr<v1::Exercise> got =
          cache.GetExercise(Key(), absl::Seconds(20));
      answers[i] = got.ok() ? got->exercise_data() : got.status().ToString();
    });
  }
  absl::SleepFor(absl::Milliseconds(500));
  lock.commit();
  for (std::thread& caller : callers) caller.join();
  for (const std::string& answer : answers)
    EXPECT_EQ(answer, R"({"once": true})");
  EXPECT_EQ(LookupStatements() - before, 1);
}

TEST_F(LookupCacheTest, ALeadersDeadlineDoesNotFailTheLookupsWaitingOnIt) {
  auto server = Serve();
  ASSERT_NE(server, nullptr);
  ASSERT_OK(Client(*server).PutExercise(Put(R"({"waited": true})")));
  auto sql = database_->Connect();
  pqxx::work lock(*sql);
  lock.exec("LOCK TABLE exercise_cache IN ACCESS EXCLUSIVE MODE");
  client::ExerciseCacheClient cache = Client(*server);
  absl::Status leader;
  std::thread first([&] {
    leader = cache.GetExercise(Key(), absl::Milliseconds(300)).status();
  });
  absl::SleepFor(absl::Milliseconds(100));  // the key's flight is the first's
  std::vector<std::string> answers(10);
  std::vector<std::thread> waiters;
  for (int i = 0; i < 10; ++i) {
    waiters.emplace_back([&, i] {
      absl::StatusOr<v1::Exercise> got =
          cache.GetExercise(Key(), absl::Seconds(20));
      answers[i] = got.ok() ? got->exercise_data() : got.status().ToString();
    });
  }
  first.join();  // past its deadline
  lock.commit();
  for (std::thread& waiter : waiters) waiter.join();
  EXPECT_THAT(leader, StatusIs(absl::StatusCode::kDeadlineExceeded));
  for (const std::string& answer : answers)
    EXPECT_EQ(answer, R"({"waited": true})");
}

TEST_F(LookupCacheTest, ZeroBoundsTurnTheCacheOff) {
  auto server =
      Serve([](config::Config& config) { config.cache_max_entries = 0; });
  ASSERT_NE(server, nullptr);
  client::ExerciseCacheClient cache = Client(*server);
  ASSERT_OK(cache.PutExercise(Put(R"({"v": 1})")));
  const int64_t before = LookupStatements();
  for (int i = 0; i < 5; ++i) ASSERT_OK(cache.GetExercise(Key()));
  EXPECT_EQ(LookupStatements() - before, 5);
  const v1::GetCacheStatsResponse stats = Stats(*server);
  EXPECT_FALSE(stats.enabled());
  EXPECT_EQ(stats.hits() + stats.misses(), 0);
}

}  // namespace
}  // namespace aves
