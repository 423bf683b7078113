// BatchJobService over a real PostgreSQL through an in-process server and the
// client library: the job life cycle and its transition rules, errors, lists
// with keyset paging under concurrent inserts, WatchJobs (snapshot, live
// changes from another client, slow watchers, feed loss, shutdown), and
// deadlines and cancellation reaching the database.
#include <atomic>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "client/lib/batch_job_client.h"
#include "client/lib/channel.h"
#include "tests/support/http_get.h"
#include "tests/support/in_process_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

namespace v1 = data::v1;
using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

class JobsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("jobs_api");
    ASSERT_OK(database);
    database_ = *std::move(database);
    sql_ = database_->Connect();
    StartServer();
  }

  void StartServer(const std::function<void(config::Config&)>& adjust = {}) {
    client_.reset();
    server_.reset();
    auto server =
        testing::InProcessServer::Start(database_->conninfo(), adjust);
    ASSERT_OK(server);
    server_ = *std::move(server);
    client_ = std::make_unique<client::BatchJobClient>(server_->channel());
  }

  v1::Job Create(const std::string& type, int64_t total = 10) {
    v1::CreateJobRequest request;
    request.set_job_type(type);
    request.set_total_items(total);
    absl::StatusOr<v1::Job> job = client_->CreateJob(request);
    EXPECT_OK(job);
    return job.ok() ? *job : v1::Job();
  }

  absl::StatusOr<v1::Job> Progress(const std::string& id, v1::JobStatus status,
                                   int64_t processed = 0, int64_t failed = 0) {
    v1::UpdateJobProgressRequest request;
    request.set_id(id);
    request.set_status(status);
    request.set_processed_items_delta(processed);
    request.set_failed_items_delta(failed);
    return client_->UpdateJobProgress(request);
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<pqxx::connection> sql_;
  std::unique_ptr<testing::InProcessServer> server_;
  std::unique_ptr<client::BatchJobClient> client_;
};

TEST_F(JobsApiTest, CreateGetAndTheLifeOfAJob) {
  v1::CreateJobRequest request;
  request.set_job_type("ai_annotation");
  request.set_total_items(100);
  request.set_metadata(R"({"model": "v2", "images": [1, 2]})");
  absl::StatusOr<v1::Job> created = client_->CreateJob(request);
  ASSERT_OK(created);
  EXPECT_EQ(created->status(), v1::JOB_STATUS_PENDING);
  EXPECT_EQ(created->total_items(), 100);
  EXPECT_THAT(created->metadata(), HasSubstr("\"model\": \"v2\""));
  EXPECT_FALSE(created->has_started_at());
  EXPECT_FALSE(created->has_created_by()) << "no authentication, no creator";

  absl::StatusOr<v1::Job> got = client_->GetJob(created->id());
  ASSERT_OK(got);
  EXPECT_EQ(got->SerializeAsString(), created->SerializeAsString());

  absl::StatusOr<v1::Job> started =
      Progress(created->id(), v1::JOB_STATUS_PROCESSING, 10, 1);
  ASSERT_OK(started);
  EXPECT_EQ(started->status(), v1::JOB_STATUS_PROCESSING);
  EXPECT_TRUE(started->has_started_at());
  EXPECT_FALSE(started->has_completed_at());
  // Progress without a status change adds up.
  absl::StatusOr<v1::Job> more =
      Progress(created->id(), v1::JOB_STATUS_UNSPECIFIED, 40, 2);
  ASSERT_OK(more);
  EXPECT_EQ(more->processed_items(), 50);
  EXPECT_EQ(more->failed_items(), 3);
  EXPECT_EQ(more->status(), v1::JOB_STATUS_PROCESSING);
  absl::StatusOr<v1::Job> done =
      Progress(created->id(), v1::JOB_STATUS_COMPLETED, 50);
  ASSERT_OK(done);
  EXPECT_TRUE(done->has_completed_at());
  EXPECT_EQ(done->processed_items(), 100);

  // Final: nothing changes it any more, not even progress.
  EXPECT_THAT(Progress(created->id(), v1::JOB_STATUS_PROCESSING),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("final status")));
  EXPECT_THAT(Progress(created->id(), v1::JOB_STATUS_UNSPECIFIED, 1),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<v1::Job> after = client_->GetJob(created->id());
  ASSERT_OK(after);
  EXPECT_EQ(after->processed_items(), 100);
  EXPECT_EQ(after->status(), v1::JOB_STATUS_COMPLETED);
}

TEST_F(JobsApiTest, ACounterThatWouldOverflowIsOutOfRangeNamingItsField) {
  const v1::Job job = Create("ai_annotation", 0);
  // Reached by many updates over time (each delta is bounded on its own).
  pqxx::nontransaction(*sql_).exec_params(
      "UPDATE batch_jobs SET processed_items = 9223372036854775800, "
      "failed_items = 9223372036854775800 WHERE id = $1",
      job.id());
  EXPECT_THAT(Progress(job.id(), v1::JOB_STATUS_PROCESSING, 10),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("processed_items_delta")));
  EXPECT_THAT(
      Progress(job.id(), v1::JOB_STATUS_PROCESSING, 0, 10),
      StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("failed_items_delta")));
  // Up to the maximum is fine; nothing was changed by the refusals.
  absl::StatusOr<v1::Job> full =
      Progress(job.id(), v1::JOB_STATUS_PROCESSING, 7);
  ASSERT_OK(full);
  EXPECT_EQ(full->processed_items(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(full->failed_items(), 9223372036854775800);
}

TEST_F(JobsApiTest, APageOfBigJobsEndsEarlyInsteadOfFailingEveryReader) {
  // Five jobs of ~960 KB of metadata: 4.8 MB, past the 4 MiB message size.
  // Before, every reader of the first page got RESOURCE_EXHAUSTED.
  pqxx::nontransaction(*sql_).exec(
      "INSERT INTO batch_jobs (job_type, metadata) SELECT 'big', "
      "jsonb_build_object('blob', repeat(md5(i::text), 30000)) FROM "
      "generate_series(1, 5) AS i");
  v1::ListJobsRequest request;
  request.set_page_size(10);
  request.set_job_type("big");
  std::set<std::string> seen;
  int pages = 0;
  do {
    absl::StatusOr<v1::ListJobsResponse> page = client_->ListJobs(request);
    ASSERT_OK(page);
    ++pages;
    EXPECT_LE(page->ByteSizeLong(), size_t{2} << 20) << "half the limit";
    EXPECT_GE(page->jobs_size(), 1) << "every page moves on";
    for (const v1::Job& job : page->jobs()) seen.insert(job.id());
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty() && pages < 10);
  EXPECT_EQ(seen.size(), 5u) << "none lost or repeated between pages";
  EXPECT_GE(pages, 3);
}

TEST_F(JobsApiTest, TransitionsAndBadInput) {
  const v1::Job job = Create("bulk_insert");
  ASSERT_OK(Progress(job.id(), v1::JOB_STATUS_PROCESSING));
  EXPECT_THAT(Progress(job.id(), v1::JOB_STATUS_PENDING),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cannot go back to pending")));
  EXPECT_THAT(Progress("00000000-0000-4000-8000-000000000000",
                       v1::JOB_STATUS_PROCESSING),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Progress(job.id(), v1::JOB_STATUS_UNSPECIFIED, -1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("processed_items_delta")));
  EXPECT_THAT(Progress(job.id(), static_cast<v1::JobStatus>(9)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("status: unknown status 9")));
  EXPECT_THAT(client_->GetJob("nope"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id")));
  EXPECT_THAT(client_->GetJob("00000000-0000-4000-8000-000000000000"),
              StatusIs(absl::StatusCode::kNotFound));

  v1::CreateJobRequest bad;
  EXPECT_THAT(
      client_->CreateJob(bad),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("job_type")));
  bad.set_job_type("x");
  bad.set_metadata("[1, 2]");
  EXPECT_THAT(client_->CreateJob(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("metadata: must be a JSON object")));
  bad.set_metadata("{oops");
  EXPECT_THAT(client_->CreateJob(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("metadata: not valid JSON")));
  // Deeper than PostgreSQL's limit (54001): refused at the door, not INTERNAL.
  bad.set_metadata("{\"a\": " + std::string(20000, '[') +
                   std::string(20000, ']') + "}");
  EXPECT_THAT(client_->CreateJob(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("metadata: not valid JSON (byte")));
  bad.set_metadata("");
  bad.set_total_items(-5);
  EXPECT_THAT(
      client_->CreateJob(bad),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("total_items")));
  EXPECT_EQ(pqxx::nontransaction(*sql_)
                .exec1("SELECT count(*) FROM batch_jobs")[0]
                .as<int>(),
            1)
      << "no refused job was written";
}

TEST_F(JobsApiTest, AJobTheApiCannotRepresentBreaksOnlyItsOwnRead) {
  // Written by another program before migration 013's checks (dropped here
  // to write it): a job created at 'infinity', one in year 20000.
  const v1::Job fine = Create("report");
  pqxx::nontransaction sql(*sql_);
  sql.exec(
      "ALTER TABLE batch_jobs DROP CONSTRAINT batch_jobs_times_in_api_range");
  const std::string bad =
      sql.exec(
             "INSERT INTO batch_jobs (job_type, created_at) VALUES "
             "('report', 'infinity') RETURNING id::text")[0][0]
          .as<std::string>();
  sql.exec(
      "INSERT INTO batch_jobs (job_type, created_at, started_at) VALUES "
      "('report', now(), '20000-01-01 00:00:00+00')");
  EXPECT_THAT(client_->GetJob(bad),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("batch_jobs row " + bad)));
  // Lists leave such rows out and go on; paging moves past them.
  v1::ListJobsRequest request;
  request.set_page_size(1);
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    absl::StatusOr<v1::ListJobsResponse> response = client_->ListJobs(request);
    ASSERT_OK(response);
    for (const v1::Job& job : response->jobs()) seen.push_back(job.id());
    if (response->next_page_token().empty()) break;
    request.set_page_token(response->next_page_token());
  }
  EXPECT_EQ(seen, std::vector<std::string>{fine.id()});
  // The server is still up and the good job still answers.
  EXPECT_OK(client_->GetJob(fine.id()));
}

TEST_F(JobsApiTest, ConcurrentProgressUpdatesAllCount) {
  const v1::Job job = Create("ai_annotation", 400);
  ASSERT_OK(Progress(job.id(), v1::JOB_STATUS_PROCESSING));
  std::vector<std::thread> runners;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    runners.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (!Progress(job.id(), v1::JOB_STATUS_UNSPECIFIED, 2).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : runners) t.join();
  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<v1::Job> after = client_->GetJob(job.id());
  ASSERT_OK(after);
  EXPECT_EQ(after->processed_items(), 400);
}

TEST_F(JobsApiTest, AppendedErrorsRoundTripExactly) {
  const v1::Job job = Create("bulk_insert");
  v1::AppendJobErrorsRequest request;
  request.set_job_id(job.id());
  const std::vector<std::string> messages = {"plain",
                                             "quote \" and backslash \\",
                                             "braces {a,b} and comma, NULL",
                                             "tab\tnew\nline",
                                             "ñandú 🐦",
                                             "NULL"};
  for (size_t i = 0; i < messages.size(); ++i) {
    v1::NewJobError* error = request.add_errors();
    error->set_error_message(messages[i]);
    if (i % 2 == 0) error->set_item_index(static_cast<int64_t>(i));
    if (i == 1) error->set_item_id("row \"1\"");
  }
  absl::StatusOr<int64_t> appended = client_->AppendJobErrors(request);
  ASSERT_OK(appended);
  EXPECT_EQ(*appended, 6);

  v1::ListJobErrorsRequest list;
  list.set_job_id(job.id());
  absl::StatusOr<v1::ListJobErrorsResponse> page = client_->ListJobErrors(list);
  ASSERT_OK(page);
  ASSERT_EQ(page->errors_size(), 6);
  std::multiset<std::string> got;
  for (const v1::JobError& error : page->errors()) {
    got.insert(error.error_message());
    if (error.error_message() == messages[1]) {
      EXPECT_FALSE(error.has_item_index());
      EXPECT_EQ(error.item_id(), "row \"1\"");
    }
    if (error.error_message() == messages[2]) {
      EXPECT_EQ(error.item_index(), 2);
    }
    if (error.error_message() == "NULL") {
      EXPECT_FALSE(error.has_item_id());
    }
  }
  EXPECT_EQ(got, std::multiset<std::string>(messages.begin(), messages.end()));

  // Bad input: nothing of the call is written.
  request.mutable_errors(3)->set_error_message("");
  EXPECT_THAT(client_->AppendJobErrors(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("errors[3].error_message")));
  request.mutable_errors(3)->set_error_message("ok");
  request.mutable_errors(4)->set_item_index(-1);
  EXPECT_THAT(client_->AppendJobErrors(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("errors[4].item_index")));
  v1::AppendJobErrorsRequest empty;
  empty.set_job_id(job.id());
  EXPECT_THAT(
      client_->AppendJobErrors(empty),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("errors")));
  v1::AppendJobErrorsRequest unknown;
  unknown.set_job_id("00000000-0000-4000-8000-000000000000");
  unknown.add_errors()->set_error_message("x");
  EXPECT_THAT(client_->AppendJobErrors(unknown),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(pqxx::nontransaction(*sql_)
                .exec1("SELECT count(*) FROM batch_job_errors")[0]
                .as<int>(),
            6);
}

TEST_F(JobsApiTest, ListJobsFiltersAndPagesNewestFirstWhileJobsArrive) {
  // 300 jobs over every status and two types; created_at repeats every 4.
  pqxx::nontransaction(*sql_).exec(
      "INSERT INTO batch_jobs (job_type, status, created_at) "
      "SELECT (ARRAY['ai_annotation','bulk_insert'])[1 + i % 2], "
      "(ARRAY['pending','processing','completed','failed','cancelled'])[1 + "
      "i % 5], now() - make_interval(secs => i / 4) "
      "FROM generate_series(1, 300) AS i");
  std::vector<std::string> expected;
  for (const pqxx::row& row : pqxx::nontransaction(*sql_).exec(
           "SELECT id FROM batch_jobs WHERE status IN ('pending', "
           "'processing') AND job_type = 'bulk_insert' ORDER BY created_at "
           "DESC, id DESC")) {
    expected.push_back(row[0].as<std::string>());
  }
  ASSERT_EQ(expected.size(), 60u);
  v1::ListJobsRequest request;
  request.add_statuses(v1::JOB_STATUS_PROCESSING);
  request.add_statuses(v1::JOB_STATUS_PENDING);
  request.set_job_type("bulk_insert");
  request.set_page_size(7);
  std::vector<std::string> seen;
  do {
    absl::StatusOr<v1::ListJobsResponse> page = client_->ListJobs(request);
    ASSERT_OK(page);
    for (const v1::Job& job : page->jobs()) {
      EXPECT_EQ(job.job_type(), "bulk_insert");
      EXPECT_TRUE(job.status() == v1::JOB_STATUS_PENDING ||
                  job.status() == v1::JOB_STATUS_PROCESSING);
      seen.push_back(job.id());
    }
    Create("bulk_insert");  // newer than the cursor: never shown, no shift
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty() && seen.size() < 1000);
  EXPECT_EQ(seen, expected);

  // Every status when none is given; a token is bound to its filter.
  v1::ListJobsRequest all;
  all.set_page_size(1000);
  absl::StatusOr<v1::ListJobsResponse> everything = client_->ListJobs(all);
  ASSERT_OK(everything);
  EXPECT_EQ(everything->jobs_size(),
            300 + static_cast<int>(seen.size() / 7) + 1);
  all.set_page_size(5);
  absl::StatusOr<v1::ListJobsResponse> first = client_->ListJobs(all);
  ASSERT_OK(first);
  request.set_page_token(first->next_page_token());
  EXPECT_THAT(client_->ListJobs(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("another list or filter")));
  v1::ListJobsRequest bad;
  bad.add_statuses(v1::JOB_STATUS_UNSPECIFIED);
  EXPECT_THAT(
      client_->ListJobs(bad),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("statuses[0]")));
}

// Collects a watch's events on a thread of its own.
class Watcher {
 public:
  Watcher(std::shared_ptr<grpc::Channel> channel, v1::WatchJobsRequest request)
      : client_(std::move(channel)) {
    thread_ = std::thread([this, request] {
      absl::Status status =
          client_.WatchJobs(request, [this](const v1::WatchJobsResponse& e) {
            std::lock_guard<std::mutex> lock(mutex_);
            events_.push_back(e);
            changed_.notify_all();
            return true;
          });
      std::lock_guard<std::mutex> lock(mutex_);
      status_ = status;
      changed_.notify_all();
    });
  }
  ~Watcher() {
    client_.CancelWatch();
    if (thread_.joinable()) thread_.join();
  }

  // Waits (bounded: must not hang) until `done(events)` holds or the stream
  // ended; returns whether it holds.
  bool WaitFor(const std::function<
                   bool(const std::vector<v1::WatchJobsResponse>&)>& done,
               absl::Duration timeout = absl::Seconds(20)) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [&] { return done(events_) || status_.has_value(); });
    return done(events_);
  }
  // The stream's final status, once it ended (bounded wait).
  std::optional<absl::Status> Ended(
      absl::Duration timeout = absl::Seconds(20)) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [&] { return status_.has_value(); });
    return status_;
  }
  std::vector<v1::WatchJobsResponse> events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

 private:
  client::BatchJobClient client_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<v1::WatchJobsResponse> events_;
  std::optional<absl::Status> status_;
  std::thread thread_;
};

bool HasEvent(const std::vector<v1::WatchJobsResponse>& events,
              v1::JobEventType type, const std::string& id,
              v1::JobStatus status) {
  for (const auto& e : events) {
    if (e.type() == type && e.job().id() == id && e.job().status() == status)
      return true;
  }
  return false;
}

bool SnapshotComplete(const std::vector<v1::WatchJobsResponse>& events) {
  for (const auto& e : events)
    if (e.type() == v1::JOB_EVENT_TYPE_SNAPSHOT_COMPLETE) return true;
  return false;
}

TEST_F(JobsApiTest, AWatcherSeesTheSnapshotThenChangesByAnotherClient) {
  const v1::Job old_active = Create("ai_annotation");
  const v1::Job other_type = Create("bulk_insert");
  v1::WatchJobsRequest request;
  request.add_statuses(v1::JOB_STATUS_PENDING);
  request.add_statuses(v1::JOB_STATUS_PROCESSING);
  request.set_job_type("ai_annotation");
  Watcher watcher(server_->channel(), request);
  ASSERT_TRUE(watcher.WaitFor(SnapshotComplete));
  std::vector<v1::WatchJobsResponse> snapshot = watcher.events();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot[0].type(), v1::JOB_EVENT_TYPE_SNAPSHOT);
  EXPECT_EQ(snapshot[0].job().id(), old_active.id());

  // Another client (its own channel) runs a job.
  client::BatchJobClient runner(client::MakeChannel(server_->address()));
  v1::CreateJobRequest create;
  create.set_job_type("ai_annotation");
  absl::StatusOr<v1::Job> job = runner.CreateJob(create);
  ASSERT_OK(job);
  ASSERT_TRUE(watcher.WaitFor([&](const auto& events) {
    return HasEvent(events, v1::JOB_EVENT_TYPE_CREATED, job->id(),
                    v1::JOB_STATUS_PENDING);
  }));
  v1::UpdateJobProgressRequest progress;
  progress.set_id(job->id());
  progress.set_status(v1::JOB_STATUS_PROCESSING);
  progress.set_processed_items_delta(3);
  ASSERT_OK(runner.UpdateJobProgress(progress));
  ASSERT_TRUE(watcher.WaitFor([&](const auto& events) {
    return HasEvent(events, v1::JOB_EVENT_TYPE_UPDATED, job->id(),
                    v1::JOB_STATUS_PROCESSING);
  }));
  // Leaving the watched statuses is reported once more.
  progress.set_status(v1::JOB_STATUS_COMPLETED);
  ASSERT_OK(runner.UpdateJobProgress(progress));
  ASSERT_TRUE(watcher.WaitFor([&](const auto& events) {
    return HasEvent(events, v1::JOB_EVENT_TYPE_UPDATED, job->id(),
                    v1::JOB_STATUS_COMPLETED);
  }));
  // A deletion is reported too.
  pqxx::nontransaction(*sql_).exec_params(
      "DELETE FROM batch_jobs WHERE id = $1", old_active.id());
  ASSERT_TRUE(watcher.WaitFor([&](const auto& events) {
    return HasEvent(events, v1::JOB_EVENT_TYPE_DELETED, old_active.id(),
                    v1::JOB_STATUS_PENDING);
  }));
  // Changes to jobs outside the filter never reached this watcher.
  ASSERT_OK(Progress(other_type.id(), v1::JOB_STATUS_PROCESSING));
  Create("ai_annotation");  // a marker after it
  ASSERT_TRUE(watcher.WaitFor([&](const auto& events) {
    int created = 0;
    for (const auto& e : events)
      created += e.type() == v1::JOB_EVENT_TYPE_CREATED;
    return created == 2;
  }));
  for (const auto& e : watcher.events())
    EXPECT_NE(e.job().id(), other_type.id());
}

TEST_F(JobsApiTest, ASlowWatcherIsDroppedWithResourceExhausted) {
  StartServer([](config::Config& config) { config.watch_max_queued = 16; });
  auto stub = v1::BatchJobService::NewStub(server_->channel());
  grpc::ClientContext context;
  v1::WatchJobsRequest request;
  std::unique_ptr<grpc::ClientReader<v1::WatchJobsResponse>> reader =
      stub->WatchJobs(&context, request);
  v1::WatchJobsResponse event;
  ASSERT_TRUE(reader->Read(&event));  // the (empty) snapshot's end
  ASSERT_EQ(event.type(), v1::JOB_EVENT_TYPE_SNAPSHOT_COMPLETE);
  // 20,000 changes while this client reads nothing: far more than the
  // queue plus what the transport buffers.
  pqxx::nontransaction(*sql_).exec(
      "INSERT INTO batch_jobs (job_type) SELECT 'flood' FROM "
      "generate_series(1, 20000)");
  int received = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  absl::SleepFor(absl::Seconds(2));  // let the feed deliver while unread
  while (reader->Read(&event) && absl::Now() < give_up) ++received;
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("watcher too slow"));
  EXPECT_LT(received, 20000);
  EXPECT_EQ(testing::MetricValue(
                testing::HttpGet(server_->http_address(), "/metrics").body,
                "aves_watch_streams_dropped_slow_total"),
            1);
  // The server is fine: a new watcher gets its snapshot.
  Watcher next(server_->channel(), request);
  EXPECT_TRUE(next.WaitFor(SnapshotComplete));
}

TEST_F(JobsApiTest, ASlowWatcherIsBoundedInBytesToo) {
  // Few events, each large: the count bound (1000) is never reached.
  // Below the configurable minimum, so that a few events are enough.
  StartServer(
      [](config::Config& config) { config.watch_max_queued_bytes = 1 << 20; });
  // A client whose window does not grow (no BDP probing): otherwise its
  // transport may take in most of the 100 MB itself, the server's queue
  // never fills, and the test proves nothing (it did so at random).
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto stub = v1::BatchJobService::NewStub(grpc::CreateCustomChannel(
      server_->address(), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(90));  // must not hang
  v1::WatchJobsRequest request;
  std::unique_ptr<grpc::ClientReader<v1::WatchJobsResponse>> reader =
      stub->WatchJobs(&context, request);
  v1::WatchJobsResponse event;
  ASSERT_TRUE(reader->Read(&event));
  ASSERT_EQ(event.type(), v1::JOB_EVENT_TYPE_SNAPSHOT_COMPLETE);
  // 200 jobs of ~500 KiB of metadata each: 100 MB of events for a client
  // that reads nothing, a few times what the transport buffers.
  pqxx::nontransaction(*sql_).exec(
      "INSERT INTO batch_jobs (job_type, metadata) SELECT 'big', "
      "jsonb_build_object('blob', repeat(md5(i::text), 16000)) FROM "
      "generate_series(1, 200) AS i");
  absl::SleepFor(absl::Seconds(2));
  int received = 0;
  while (reader->Read(&event)) ++received;
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message() << " after " << received;
  EXPECT_THAT(status.error_message(), HasSubstr("bytes) waiting"));
  EXPECT_LT(received, 200);
}

TEST_F(JobsApiTest, WatchersAreCappedAndTheirSlotsComeBack) {
  StartServer([](config::Config& config) { config.watch_max_streams = 2; });
  v1::WatchJobsRequest request;
  {
    Watcher first(server_->channel(), request);
    Watcher second(server_->channel(), request);
    ASSERT_TRUE(first.WaitFor(SnapshotComplete));
    ASSERT_TRUE(second.WaitFor(SnapshotComplete));
    auto stub = v1::BatchJobService::NewStub(server_->channel());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    auto third = stub->WatchJobs(&context, request);
    v1::WatchJobsResponse event;
    EXPECT_FALSE(third->Read(&event));
    grpc::Status refused = third->Finish();
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(refused.error_message(), HasSubstr("AVES_WATCH_MAX_STREAMS=2"));
  }
  // Both ended: their slots are free again (the server frees a slot once
  // the stream is done, a moment after the client cancelled).
  bool admitted = false;
  for (int attempt = 0; attempt < 100 && !admitted; ++attempt) {
    Watcher again(server_->channel(), request);
    Watcher and_again(server_->channel(), request);
    admitted =
        again.WaitFor(SnapshotComplete) && and_again.WaitFor(SnapshotComplete);
    if (!admitted) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(admitted);
}

TEST_F(JobsApiTest, AConnectionHasAtMostItsStreamsOpen) {
  StartServer([](config::Config& config) {
    config.grpc_max_streams_per_connection = 1;
  });
  auto stub = v1::BatchJobService::NewStub(server_->channel());
  v1::ListJobsRequest list;
  {
    Watcher watcher(server_->channel(), v1::WatchJobsRequest());
    ASSERT_TRUE(watcher.WaitFor(SnapshotComplete));
    // The one stream is taken: another call on the connection waits.
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(500));
    v1::ListJobsResponse jobs;
    EXPECT_EQ(stub->ListJobs(&context, list, &jobs).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // The watch ended: the next call gets the stream.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::ListJobsResponse jobs;
  EXPECT_TRUE(stub->ListJobs(&context, list, &jobs).ok());
}

TEST_F(JobsApiTest, AFeedWhoseDatabaseStopsAnsweringEndsItsWatchers) {
  const int pg_port = testing::LoopbackPortOf(database_->conninfo());
  if (pg_port == 0) GTEST_SKIP() << "needs the PostgreSQL on loopback";
  absl::StatusOr<std::unique_ptr<testing::TcpProxy>> proxy =
      testing::TcpProxy::Start(pg_port);
  ASSERT_OK(proxy);
  client_.reset();
  server_.reset();
  auto server = testing::InProcessServer::Start(
      testing::WithPort(database_->conninfo(), (*proxy)->port()),
      [](config::Config& config) {
        config.feed_heartbeat = absl::Milliseconds(100);
        config.feed_dead_after = absl::Seconds(1);
      });
  ASSERT_OK(server);
  {
    Watcher watcher((*server)->channel(), v1::WatchJobsRequest());
    ASSERT_TRUE(watcher.WaitFor(SnapshotComplete));
    // The database goes silent: no reset, no close, nothing answers. Before,
    // the watcher heard nothing, ever.
    (*proxy)->Freeze();
    std::optional<absl::Status> ended = watcher.Ended(absl::Seconds(30));
    ASSERT_TRUE(ended.has_value()) << "the watcher was never told";
    EXPECT_THAT(*ended, StatusIs(absl::StatusCode::kUnavailable,
                                 HasSubstr("watch again")));
  }
  // Shutting down does not wait on a database that does not answer (a
  // generous bound: this must not hang).
  const absl::Time start = absl::Now();
  server->reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

TEST_F(JobsApiTest, AWatchEndsAtItsLongestDuration) {
  StartServer([](config::Config& config) {
    config.watch_max_duration = absl::Milliseconds(500);
  });
  Watcher watcher(server_->channel(), v1::WatchJobsRequest());
  ASSERT_TRUE(watcher.WaitFor(SnapshotComplete));
  std::optional<absl::Status> ended = watcher.Ended(absl::Seconds(20));
  ASSERT_TRUE(ended.has_value());
  EXPECT_THAT(*ended, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("AVES_WATCH_MAX_DURATION_MS")));
}

TEST_F(JobsApiTest, LosingTheFeedConnectionEndsWatchesWhichThenReconnect) {
  Watcher watcher(server_->channel(), v1::WatchJobsRequest());
  ASSERT_TRUE(watcher.WaitFor(SnapshotComplete));
  pqxx::nontransaction(*sql_).exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
      "application_name = 'avesd job feed' AND datname = current_database()");
  std::optional<absl::Status> ended = watcher.Ended();
  ASSERT_TRUE(ended.has_value());
  EXPECT_THAT(*ended, StatusIs(absl::StatusCode::kUnavailable));
  // The feed reconnects by itself; a new watch sees new changes.
  absl::Status subscribed;
  for (int attempt = 0; attempt < 100; ++attempt) {
    Watcher again(server_->channel(), v1::WatchJobsRequest());
    if (again.WaitFor(SnapshotComplete, absl::Seconds(5))) {
      const v1::Job job = Create("after_reconnect");
      EXPECT_TRUE(again.WaitFor([&](const auto& events) {
        return HasEvent(events, v1::JOB_EVENT_TYPE_CREATED, job.id(),
                        v1::JOB_STATUS_PENDING);
      }));
      return;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  FAIL() << "no watch succeeded after the feed's connection was killed";
}

TEST_F(JobsApiTest, ShutdownEndsWatchesWithUnavailable) {
  Watcher watcher(server_->channel(), v1::WatchJobsRequest());
  ASSERT_TRUE(watcher.WaitFor(SnapshotComplete));
  const absl::Time start = absl::Now();
  server_->server().Shutdown();
  std::optional<absl::Status> ended = watcher.Ended();
  ASSERT_TRUE(ended.has_value()) << "the watch outlived the shutdown";
  EXPECT_THAT(*ended, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("shutting down")));
  // Generous bound: not the whole grace period, and certainly no hang.
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

// Holds an exclusive lock on batch_jobs so reads of it block.
class TableLock {
 public:
  explicit TableLock(const testing::TestDatabase& database)
      : connection_(database.Connect()), tx_(*connection_) {
    tx_.exec("LOCK TABLE batch_jobs IN ACCESS EXCLUSIVE MODE");
  }

 private:
  std::unique_ptr<pqxx::connection> connection_;
  pqxx::work tx_;
};

// Backends of the server's pool still running a statement on batch_jobs.
int BlockedServerQueries(pqxx::connection& sql) {
  return pqxx::nontransaction(sql)
      .exec1(
          "SELECT count(*) FROM pg_stat_activity WHERE datname = "
          "current_database() AND state = 'active' AND query LIKE "
          "'%FROM batch_jobs WHERE id%' AND pid <> pg_backend_pid()")[0]
      .as<int>();
}

bool WaitForNoBlockedQueries(pqxx::connection& sql) {
  for (int i = 0; i < 200; ++i) {  // up to 10 s: must not hang
    if (BlockedServerQueries(sql) == 0) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

TEST_F(JobsApiTest, ADeadlineStopsTheQueryInTheDatabase) {
  const v1::Job job = Create("x");
  TableLock lock(*database_);
  auto stub = v1::BatchJobService::NewStub(server_->channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(500));
  v1::GetJobRequest request;
  request.set_id(job.id());
  v1::GetJobResponse response;
  grpc::Status status = stub->GetJob(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(WaitForNoBlockedQueries(*sql_))
      << "the query outlived its deadline";
}

TEST_F(JobsApiTest, AClientThatCancelsStopsItsQuery) {
  const v1::Job job = Create("x");
  TableLock lock(*database_);
  auto stub = v1::BatchJobService::NewStub(server_->channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  std::thread canceller([&] {
    // Cancel once the query is running (bounded wait).
    for (int i = 0; i < 200 && BlockedServerQueries(*database_->Connect()) == 0;
         ++i) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    context.TryCancel();
  });
  v1::GetJobRequest request;
  request.set_id(job.id());
  v1::GetJobResponse response;
  grpc::Status status = stub->GetJob(&context, request, &response);
  canceller.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitForNoBlockedQueries(*sql_))
      << "the query outlived its cancelled call";
}

}  // namespace
}  // namespace aves
