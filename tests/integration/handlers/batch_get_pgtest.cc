// BatchGetExercises against a real avesd and PostgreSQL: one result per key
// in request order (misses included), one statement per call however many
// keys (counted by pg_stat_statements), the key limit, a bad key named by
// its index, the policy's roles, and avesctl cache get-many.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "client/lib/channel.h"
#include "client/lib/exercise_cache_client.h"
#include "tests/support/avesd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
#include "tests/support/test_tokens.h"

namespace aves {
namespace {

using ::testing::HasSubstr;
namespace v1 = data::v1;

std::string UserId(int n) {
  return absl::StrFormat("00000000-0000-4000-8000-%012d", n);
}

v1::GetExerciseRequest Key(int user, int difficulty) {
  v1::GetExerciseRequest key;
  key.set_user_id(UserId(user));
  key.set_exercise_type("identify");
  key.set_difficulty_level(difficulty);
  return key;
}

class BatchGetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("batch_get");
    ASSERT_OK(database);
    database_ = *std::move(database);
    avesd_ = std::make_unique<testing::AvesdProcess>(database_->conninfo());
    ASSERT_FALSE(avesd_->Address().empty()) << avesd_->process().Stderr();
    client_ = std::make_unique<client::ExerciseCacheClient>(
        client::MakeChannel(avesd_->Address()));
    // Users 0..99 have an entry at difficulty 2.
    pqxx::connection sql(database_->conninfo());
    pqxx::nontransaction(sql).exec(
        "INSERT INTO exercise_cache (user_id, exercise_type, "
        "difficulty_level, exercise_data) SELECT ('00000000-0000-4000-8000-' "
        "|| lpad(i::text, 12, '0'))::uuid, 'identify', 2, "
        "jsonb_build_object('user', i) FROM generate_series(0, 99) AS i");
  }

  int64_t BatchStatements() {
    return database_->StatementCalls({"lookup_exercises_batch"});
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<testing::AvesdProcess> avesd_;
  std::unique_ptr<client::ExerciseCacheClient> client_;
};

TEST_F(BatchGetTest, OneResultPerKeyInOrderMissesIncluded) {
  v1::BatchGetExercisesRequest request;
  // Hits and misses interleaved, a duplicate, a topic filter that misses.
  *request.add_requests() = Key(7, 2);
  *request.add_requests() = Key(7, 3);  // miss: other difficulty
  *request.add_requests() = Key(42, 2);
  *request.add_requests() = Key(500, 2);  // miss: no such user
  *request.add_requests() = Key(7, 2);    // the same key again
  v1::GetExerciseRequest topical = Key(42, 2);
  topical.set_topic("no-such-topic");
  *request.add_requests() = topical;  // miss: topic
  absl::StatusOr<v1::BatchGetExercisesResponse> response =
      client_->BatchGetExercises(request);
  ASSERT_OK(response);
  ASSERT_EQ(response->results_size(), 6);
  const std::vector<bool> found = {true, false, true, false, true, false};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(response->results(i).found(), found[i]) << i;
    EXPECT_EQ(response->results(i).has_exercise(), found[i]) << i;
  }
  EXPECT_EQ(response->results(0).exercise().user_id(), UserId(7));
  EXPECT_EQ(response->results(0).exercise().exercise_data(), R"({"user": 7})");
  EXPECT_EQ(response->results(2).exercise().user_id(), UserId(42));
  EXPECT_EQ(response->results(4).exercise().id(),
            response->results(0).exercise().id());

  absl::StatusOr<v1::BatchGetExercisesResponse> empty =
      client_->BatchGetExercises(v1::BatchGetExercisesRequest());
  ASSERT_OK(empty);
  EXPECT_EQ(empty->results_size(), 0);
}

// Far more keys than a lookup batch (AVES_LOOKUP_BATCH_MAX, 64): still one
// statement, the group is never split.
TEST_F(BatchGetTest, OneCallIsOneStatementHoweverManyKeys) {
  const int64_t before = BatchStatements();
  v1::BatchGetExercisesRequest request;
  for (int i = 0; i < 1000; ++i) *request.add_requests() = Key(i % 200, 2);
  absl::StatusOr<v1::BatchGetExercisesResponse> response =
      client_->BatchGetExercises(request);
  ASSERT_OK(response);
  ASSERT_EQ(response->results_size(), 1000);
  int hits = 0;
  for (int i = 0; i < 1000; ++i) {
    const bool expected = i % 200 < 100;
    EXPECT_EQ(response->results(i).found(), expected) << i;
    if (expected) {
      EXPECT_EQ(response->results(i).exercise().user_id(), UserId(i % 200));
    }
    hits += response->results(i).found() ? 1 : 0;
  }
  EXPECT_EQ(hits, 500);
  EXPECT_EQ(BatchStatements() - before, 1);
  EXPECT_THAT(avesd_->process().StderrOnceItHas("BatchGetExercises"),
              ::testing::ContainsRegex(
                  "method=ExerciseCacheService.BatchGetExercises code=OK "
                  "ms=[0-9.]+ rows=500 statements=1 db_ms="));
}

TEST_F(BatchGetTest, TooManyKeysOrABadOneFailTheWholeCallNamingIt) {
  v1::BatchGetExercisesRequest too_many;
  for (int i = 0; i < 1001; ++i) *too_many.add_requests() = Key(i, 2);
  EXPECT_THAT(client_->BatchGetExercises(too_many).status(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("requests: at most 1000 keys")));
  v1::BatchGetExercisesRequest bad;
  *bad.add_requests() = Key(1, 2);
  *bad.add_requests() = Key(2, 2);
  bad.mutable_requests(1)->set_difficulty_level(9);
  *bad.add_requests() = Key(3, 2);
  bad.mutable_requests(2)->set_user_id("not-a-uuid");
  const absl::Status status = client_->BatchGetExercises(bad).status();
  EXPECT_THAT(status,
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("requests[1].difficulty_level")));
  EXPECT_THAT(std::string(status.message()), HasSubstr("requests[2].user_id"));
  // Many bad keys: the first ten are named, the refusal stays small.
  v1::BatchGetExercisesRequest all_bad;
  for (int i = 0; i < 500; ++i) {
    *all_bad.add_requests() = Key(i, 2);
    all_bad.mutable_requests(i)->set_user_id("x");
  }
  const std::string many(
      client_->BatchGetExercises(all_bad).status().message());
  EXPECT_THAT(many, HasSubstr("requests[9].user_id"));
  EXPECT_THAT(many, ::testing::Not(HasSubstr("requests[10].")));
}

TEST_F(BatchGetTest, AvesctlLooksUpAFileOfKeys) {
  const std::string file = testing::MakeTempDir() + "/keys.jsonl";
  std::ofstream(file)
      << R"({"user_id": ")" << UserId(3)
      << R"(", "exercise_type": "identify", "difficulty_level": 2})"
      << "\n\n"
      << R"({"userId": ")" << UserId(300)
      << R"(", "exerciseType": "identify", "difficultyLevel": 2})"
      << "\n";
  const std::string addr = "--addr=" + avesd_->Address();
  testing::CommandResult table =
      testing::RunCommand({AVESCTL_PATH, addr, "cache", "get-many", file});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("1 of 2 found"));
  EXPECT_THAT(table.out, HasSubstr(UserId(300)));
  testing::CommandResult json = testing::RunCommand(
      {AVESCTL_PATH, addr, "--json", "cache", "get-many", file});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"found\": true"));
  std::ofstream(file) << "{not json\n";
  testing::CommandResult broken =
      testing::RunCommand({AVESCTL_PATH, addr, "cache", "get-many", file});
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_THAT(broken.err, HasSubstr("line 1"));
  // Input is bounded before it is held: a line past 4 KiB is refused.
  std::ofstream(file) << "{}\n" << std::string(5000, ' ') << "{}\n";
  testing::CommandResult huge =
      testing::RunCommand({AVESCTL_PATH, addr, "cache", "get-many", file});
  EXPECT_EQ(huge.exit_code, 2);
  EXPECT_THAT(huge.err, HasSubstr("line 2 is longer than 4096 bytes"));
}

// Allowed to exactly GetExercise's roles.
TEST(BatchGetPolicyTest, FrontendsMayAndReviewersMayNot) {
  auto database = testing::TestDatabase::CreateMigrated("batch_get_auth");
  ASSERT_OK(database);
  const std::string key_file = testing::MakeTempDir() + "/jwt.key";
  std::ofstream(key_file) << testing::kTestTokenSecret;
  testing::AvesdProcess avesd((*database)->conninfo(),
                              {{"AVES_AUTH_JWT_KEY_FILE", key_file}});
  ASSERT_FALSE(avesd.Address().empty()) << avesd.process().Stderr();
  v1::BatchGetExercisesRequest request;
  *request.add_requests() = Key(1, 2);
  for (const auto& [role, code] :
       std::vector<std::pair<std::string, absl::StatusCode>>{
           {"frontend", absl::StatusCode::kOk},
           {"admin", absl::StatusCode::kOk},
           {"reviewer", absl::StatusCode::kPermissionDenied},
           {"dashboard", absl::StatusCode::kPermissionDenied}}) {
    client::ChannelSecurity security;
    security.bearer_token = testing::TestToken("caller-" + role, {role});
    client::ExerciseCacheClient cache(
        client::MakeChannel(avesd.Address(), security));
    EXPECT_EQ(cache.BatchGetExercises(request).status().code(), code) << role;
  }
}

}  // namespace
}  // namespace aves
