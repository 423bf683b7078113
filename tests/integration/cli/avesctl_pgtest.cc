// avesctl annotations and jobs as a user runs them: the real avesctl binary
// against a real avesd over a real PostgreSQL; aligned tables, --json, and
// errors as "error: CODE: message" with a non-zero exit.
#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "server/bulk/load_store.h"
#include "tests/support/avesd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using testing::RunCommand;

constexpr char kImage[] = "11111111-1111-4111-8111-111111111111";
constexpr char kAnnotation[] = "33333333-3333-4333-8333-333333333333";
constexpr char kJob[] = "44444444-4444-4444-8444-444444444444";

class AvesctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("avesctl");
    ASSERT_OK(database);
    database_ = *std::move(database);
    sql_ = database_->Connect();
    pqxx::nontransaction tx(*sql_);
    tx.exec_params("INSERT INTO images (id, url) VALUES ($1, 'https://x/1')",
                   std::string(kImage));
    tx.exec_params(
        "INSERT INTO batch_jobs (id, job_type, status, total_items, "
        "processed_items, failed_items) VALUES ($1, 'ai_annotation', "
        "'processing', 40, 12, 1)",
        std::string(kJob));
    tx.exec_params(
        "INSERT INTO batch_job_errors (job_id, item_index, error_message) "
        "VALUES ($1, 7, 'image unreadable')",
        std::string(kJob));
    tx.exec_params(
        "INSERT INTO ai_annotation_items (id, job_id, image_id, "
        "spanish_term, english_term, bounding_box, annotation_type, "
        "confidence) VALUES ($1, $2, $3, 'el pico', 'beak', '{\"x\": 1}', "
        "'anatomy', 0.875), (gen_random_uuid(), $2, $3, 'la pata', 'leg', "
        "'{}', 'anatomy', 0.5)",
        std::string(kAnnotation), std::string(kJob), std::string(kImage));
    avesd_ = std::make_unique<testing::AvesdProcess>(database_->conninfo());
    address_ = avesd_->Address();
    ASSERT_FALSE(address_.empty()) << avesd_->process().Stderr();
    ASSERT_THAT(avesd_->WaitForHealth(client::ServingStatus::kServing),
                testing::IsOkAndHolds(client::ServingStatus::kServing));
  }

  CommandResult Avesctl(std::vector<std::string> args) {
    args.insert(args.begin(), {AVESCTL_PATH, "--addr=" + address_});
    return RunCommand(args);
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<pqxx::connection> sql_;
  std::unique_ptr<testing::AvesdProcess> avesd_;
  std::string address_;
};

TEST_F(AvesctlTest, AnnotationsImageQueueAndReview) {
  CommandResult image =
      Avesctl({"annotations", "image", std::string("--image=") + kImage});
  ASSERT_EQ(image.exit_code, 0) << image.err;
  // Header, rule, then rows, highest confidence first, columns aligned.
  EXPECT_THAT(image.out, MatchesRegex("id +image +spanish +english +type +"
                                      "confidence +status +created at\n-+\n"
                                      "3333.*el pico +beak +anatomy +0\\.875 "
                                      "+pending.*\n.*la pata.*0\\.500.*\n"));
  CommandResult json =
      Avesctl({"annotations", "image", std::string("--image=") + kImage,
               "--min-confidence=0.6", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"spanish_term\": \"el pico\""));
  EXPECT_THAT(json.out, Not(HasSubstr("la pata")));

  CommandResult queue = Avesctl({"annotations", "queue", "--page-size=1"});
  ASSERT_EQ(queue.exit_code, 0) << queue.err;
  EXPECT_THAT(queue.out, HasSubstr("next page: --page-token="));

  CommandResult review =
      Avesctl({"annotations", "review", std::string("--id=") + kAnnotation,
               "--decision=edit", "--english=bill", "--reviewer=ana"});
  ASSERT_EQ(review.exit_code, 0) << review.err;
  EXPECT_THAT(review.out, HasSubstr("bill"));
  EXPECT_THAT(review.out, HasSubstr("edited"));
  // Again, still expecting pending: someone (ana) already decided.
  CommandResult stale =
      Avesctl({"annotations", "review", std::string("--id=") + kAnnotation,
               "--decision=approve", "--reviewer=bob"});
  EXPECT_EQ(stale.exit_code, 2);
  EXPECT_THAT(stale.err, HasSubstr("error: FAILED_PRECONDITION: "));
  EXPECT_THAT(stale.err, HasSubstr("is edited, not pending"));

  CommandResult bad = Avesctl({"annotations", "image", "--image=nope"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("error: INVALID_ARGUMENT: image_id"));
}

TEST_F(AvesctlTest, JobsListGetErrorsAndWatch) {
  CommandResult list = Avesctl({"jobs", "list", "--status=processing"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, MatchesRegex("id +type +status +processed +failed +"
                                     "created at +updated at\n-+\n"
                                     "4444[-0-9a-f]+ +ai_annotation +"
                                     "processing +12/40 +1 .*\n"));
  CommandResult none =
      Avesctl({"jobs", "list", "--status=completed", "--json"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_THAT(none.out, HasSubstr("\"jobs\": []"));

  CommandResult get = Avesctl({"jobs", "get", std::string("--id=") + kJob});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_THAT(get.out, MatchesRegex("(.|\n)*processed_items +12\n(.|\n)*"));
  CommandResult get_json =
      Avesctl({"jobs", "get", std::string("--id=") + kJob, "--json"});
  EXPECT_THAT(get_json.out, HasSubstr("\"status\": \"JOB_STATUS_PROCESSING\""));
  CommandResult missing =
      Avesctl({"jobs", "get", "--id=00000000-0000-4000-8000-000000000000"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("error: NOT_FOUND: "));

  CommandResult errors =
      Avesctl({"jobs", "errors", std::string("--job=") + kJob});
  ASSERT_EQ(errors.exit_code, 0) << errors.err;
  EXPECT_THAT(errors.out, MatchesRegex("(.|\n)*[0-9]+ +7 +- +image unreadable "
                                       "(.|\n)*"));

  // watch: the snapshot, then the change another session makes; stops after
  // one change (--count=1) and prints JSON lines with --json.
  testing::Subprocess watch({AVESCTL_PATH, "--addr=" + address_, "jobs",
                             "watch", "--status=processing,completed",
                             "--count=1", "--json"});
  for (int i = 0;
       i < 200 && watch.Stdout().find("SNAPSHOT_COMPLETE") == std::string::npos;
       ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_THAT(watch.Stdout(), HasSubstr("JOB_EVENT_TYPE_SNAPSHOT_COMPLETE"))
      << watch.Stderr();
  pqxx::nontransaction(*sql_).exec_params(
      "UPDATE batch_jobs SET status = 'completed' WHERE id = $1",
      std::string(kJob));
  ASSERT_EQ(watch.Wait(absl::Seconds(30)), 0) << watch.Stderr();
  EXPECT_THAT(watch.Stdout(),
              HasSubstr("{\"type\":\"JOB_EVENT_TYPE_SNAPSHOT\",\"job\":{\"id\":"
                        "\"44444444-4444-4444-8444-444444444444\""));
  EXPECT_THAT(watch.Stdout(), HasSubstr("\"type\":\"JOB_EVENT_TYPE_UPDATED\""));
  EXPECT_THAT(watch.Stdout(), HasSubstr("\"status\":\"JOB_STATUS_COMPLETED\""));
}

TEST_F(AvesctlTest, LoadStreamsCsvAndJsonLinesFiles) {
  const std::string dir = testing::MakeTempDir();
  const std::string csv = dir + "/words.csv";
  {
    std::ofstream out(csv);
    out << "spanish_term,english_term,category\n"
        << "la garza,heron,birds\n"
        << "\"el pico, corto\",\"short, beak\",anatomy\n"
        << "\"dos\nlíneas\",two lines,\n"            // an empty category: NULL
        << "\"comillas \"\"así\"\"\",quotes,\"\"\n"  // "" : the empty string
        << "tab\there,back\\slash,x\n";
  }
  CommandResult load = Avesctl({"load", "--table=vocabulary", csv});
  ASSERT_EQ(load.exit_code, 0) << load.err << load.out;
  EXPECT_THAT(load.out,
              HasSubstr("loaded 5 rows into vocabulary (0 updated, 0 refused"));
  EXPECT_EQ(load.err, "") << "no progress bar without a terminal";
  auto category = [&](const std::string& spanish) {
    pqxx::result rows = pqxx::nontransaction(*sql_).exec_params(
        "SELECT coalesce(category, '<NULL>') FROM vocabulary WHERE "
        "spanish_term = $1",
        spanish);
    return rows.empty() ? std::string("<missing>")
                        : rows[0][0].as<std::string>();
  };
  EXPECT_EQ(category("la garza"), "birds");
  EXPECT_EQ(category("el pico, corto"), "anatomy");
  EXPECT_EQ(category("dos\nlíneas"), "<NULL>");
  EXPECT_EQ(category("comillas \"así\""), "");
  EXPECT_EQ(category("tab\there"), "x");

  // JSON lines with typed values; one row is refused (width is not a number):
  // the rest load, the summary counts it, the exit code says so.
  const std::string jsonl = dir + "/images.jsonl";
  {
    std::ofstream out(jsonl);
    out << R"({"url": "https://x/a.jpg", "species": "heron", "width": 640, "height": 480})"
        << "\n"
        << R"({"url": "https://x/b.jpg", "species": null, "width": 800, "height": 600})"
        << "\n"
        << R"({"url": "https://x/c.jpg", "species": "egret", "width": "wide", "height": 1})"
        << "\n";
  }
  CommandResult images = Avesctl({"load", "--table=images", "--format=jsonl",
                                  "--load-id=images-1", "--json", jsonl});
  EXPECT_EQ(images.exit_code, 3) << images.err;
  EXPECT_THAT(images.out, HasSubstr("\"rows_inserted\": \"2\""));
  EXPECT_THAT(images.out, HasSubstr("\"rows_failed\": \"1\""));
  EXPECT_EQ(
      pqxx::nontransaction(*sql_)
          .exec1(
              "SELECT count(*) FROM images WHERE url LIKE 'https://x/%.jpg'")[0]
          .as<int>(),
      2);
  // Resuming a finished load writes nothing again, and still says (exit 3)
  // that a row of the file was refused.
  CommandResult again = Avesctl(
      {"load", "--table=images", "--format=jsonl", "--resume=images-1", jsonl});
  EXPECT_EQ(again.exit_code, 3) << again.err;
  EXPECT_THAT(again.out, HasSubstr("loaded 0 rows"));
  EXPECT_THAT(again.out, HasSubstr("committed offset 3"));
  EXPECT_THAT(again.out, HasSubstr("the whole load, over all its calls: 2 "
                                   "inserted, 0 updated, 1 refused"));

  CommandResult refused = Avesctl({"load", "--table=pg_authid", csv});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("error: INVALID_ARGUMENT: header.table"));
}

// A loader killed mid-load (SIGKILL: no goodbye, the stream just drops).
// Per batch: the committed batches stay, the job records the cancellation,
// and `--resume` finishes the file with every row exactly once. Atomic:
// nothing of the load is left, in the table or as a stage.
TEST_F(AvesctlTest, AKilledLoaderResumesExactlyOnceOrLeavesNothing) {
  constexpr int kRows = 200'000;
  const std::string csv = testing::MakeTempDir() + "/words.csv";
  {
    std::ofstream out(csv);
    out << "spanish_term,english_term\n";
    for (int i = 0; i < kRows; ++i) out << "es" << i << ",en" << i << "\n";
  }
  auto count = [&](const std::string& query) {
    return pqxx::nontransaction(*sql_).exec1(query)[0].as<int64_t>();
  };
  // Starts a load, kills it once `started` holds (bounded), returns whether
  // it was still running then.
  auto kill_midway = [&](std::vector<std::string> args,
                         const std::function<bool()>& started) {
    args.insert(args.begin(), {AVESCTL_PATH, "--addr=" + address_, "load",
                               "--table=vocabulary", "--batch-size=2000"});
    args.push_back(csv);
    testing::Subprocess loader(args);
    for (int i = 0; i < 3000 && !started(); ++i)
      absl::SleepFor(absl::Milliseconds(10));
    const bool running = !loader.Wait(absl::ZeroDuration()).has_value();
    loader.Signal(SIGKILL);
    loader.Wait(absl::Seconds(10));
    return running;
  };
  // avesd notices the dropped stream and ends the job (bounded wait).
  auto wait_for = [&](const std::string& query) {
    for (int i = 0; i < 500 && count(query) == 0; ++i)
      absl::SleepFor(absl::Milliseconds(20));
    return count(query);
  };

  ASSERT_TRUE(kill_midway({"--load-id=words"}, [&] {
    return count(
               "SELECT count(*) FROM bulk_loads WHERE load_id = 'words' "
               "AND committed_offset > 0") > 0;
  }));
  EXPECT_EQ(wait_for("SELECT count(*) FROM batch_jobs WHERE status = "
                     "'cancelled' AND metadata->>'load_id' = 'words'"),
            1);
  const int64_t kept = count("SELECT count(*) FROM vocabulary");
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, kRows) << "killed before the end";
  CommandResult resumed =
      Avesctl({"load", "--table=vocabulary", "--resume=words", "--json", csv});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(count("SELECT count(*) FROM vocabulary"), kRows);
  EXPECT_EQ(count("SELECT count(DISTINCT spanish_term) FROM vocabulary"), kRows)
      << "every row exactly once";

  std::string stage;  // the attempt's (bulk::StageTable of its job id)
  ASSERT_TRUE(kill_midway({"--load-id=words-atomic", "--atomic"}, [&] {
    pqxx::result job = pqxx::nontransaction(*sql_).exec(
        "SELECT job_id::text FROM bulk_loads WHERE load_id = 'words-atomic'");
    if (job.empty()) return false;
    stage = bulk::StageTable(job[0][0].as<std::string>());
    return count("SELECT count(*) FROM pg_tables WHERE tablename = '" + stage +
                 "'") > 0 &&
           count("SELECT count(*) FROM " +
                 bulk::QualifiedStageTable(job[0][0].as<std::string>())) > 0;
  }));
  EXPECT_EQ(wait_for("SELECT count(*) FROM batch_jobs WHERE status = "
                     "'cancelled' AND metadata->>'load_id' = 'words-atomic'"),
            1);
  EXPECT_EQ(
      count("SELECT count(*) FROM pg_tables WHERE tablename = '" + stage + "'"),
      0)
      << "the stage is dropped";
  EXPECT_EQ(count("SELECT count(*) FROM vocabulary"), kRows)
      << "nothing of the atomic load";
}

// The demo data of scripts/run goes in through avesctl load: the real script,
// the real binaries, an empty database. Every file loads whole (so the files
// still fit the schema), and a second run changes nothing.
TEST(DemoDataTest, LoadsEveryFileThroughAvesctlLoadOnce) {
  auto database = testing::TestDatabase::CreateMigrated("demo_data");
  ASSERT_OK(database);
  testing::AvesdProcess avesd((*database)->conninfo());
  const std::string address = avesd.Address();
  ASSERT_FALSE(address.empty()) << avesd.process().Stderr();
  const std::map<std::string, std::string> env = {
      {"DATABASE_URL", (*database)->conninfo()},
      {"AVES_ADDR", address},
      {"AVESCTL", AVESCTL_PATH}};
  const std::string script =
      std::string(AVES_SOURCE_DIR) + "/scripts/demo-data";
  CommandResult first = RunCommand({script}, env, absl::Minutes(2));
  ASSERT_EQ(first.exit_code, 0) << first.err << first.out;

  auto sql = (*database)->Connect();
  auto count = [&](const std::string& query) {
    return pqxx::nontransaction(*sql).exec1(query)[0].as<int64_t>();
  };
  const std::vector<std::string> tables = {"users",
                                           "vocabulary",
                                           "user_progress",
                                           "images",
                                           "batch_jobs",
                                           "exercise_cache",
                                           "ai_annotation_items",
                                           "batch_job_errors"};
  for (const std::string& table : tables) {
    std::ifstream file(std::string(AVES_SOURCE_DIR) + "/demo/" + table +
                       ".csv");
    // Lines after the header; no demo value spans lines.
    int64_t lines = -1;
    for (std::string line; std::getline(file, line);) ++lines;
    ASSERT_GT(lines, 0) << table;
    // (batch_jobs also holds the loads' own jobs.)
    EXPECT_EQ(
        count("SELECT count(*) FROM " + table +
              (table == "batch_jobs" ? " WHERE metadata->>'load_id' IS NULL"
                                     : "")),
        lines)
        << table;
    EXPECT_THAT(first.out, HasSubstr(table + ": loaded " +
                                     std::to_string(lines) + " rows"));
  }
  // Each file was one bulk load, recorded as a completed job.
  EXPECT_EQ(count("SELECT count(*) FROM batch_jobs WHERE job_type = "
                  "'bulk_insert' AND status = 'completed' AND "
                  "metadata->>'load_id' LIKE 'demo-%'"),
            static_cast<int64_t>(tables.size()));

  CommandResult second = RunCommand({script}, env, absl::Minutes(2));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.err + second.out, HasSubstr("already loaded"));
  EXPECT_EQ(count("SELECT count(*) FROM users"), 20);
}

}  // namespace
}  // namespace aves
