// BatchJobService through avesd: keyset pagination with page tokens.
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "aves/data/v1/batch_jobs.grpc.pb.h"
#include "client/lib/channel.h"
#include "tests/support/avesd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kJob[] = "6f1d0a3e-2b4c-4d5e-8f70-112233445566";
constexpr char kOtherJob[] = "7a2e1b4f-3c5d-4e6f-8081-223344556677";

class JobErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("jobs");
    ASSERT_OK(database);
    database_ = *std::move(database);
    sql_ = database_->Connect();
    pqxx::nontransaction tx(*sql_);
    tx.exec_params(
        "INSERT INTO batch_jobs (id, job_type, status) VALUES ($1, "
        "'bulk_insert', "
        "'failed'), ($2, 'bulk_insert', 'failed')",
        std::string(kJob), std::string(kOtherJob));
    // 250 errors; every ten share a created_at, so ties are broken by id.
    tx.exec_params(
        "INSERT INTO batch_job_errors (job_id, item_index, error_message, "
        "created_at) "
        "SELECT $1, i, 'bad row ' || i, now() - make_interval(mins => i / 10) "
        "FROM generate_series(1, 250) AS i",
        std::string(kJob));
    avesd_ = std::make_unique<testing::AvesdProcess>(database_->conninfo());
    const std::string address = avesd_->Address();
    ASSERT_FALSE(address.empty()) << avesd_->process().Stderr();
    ASSERT_THAT(avesd_->WaitForHealth(client::ServingStatus::kServing),
                testing::IsOkAndHolds(client::ServingStatus::kServing));
    stub_ = data::v1::BatchJobService::NewStub(client::MakeChannel(address));
  }

  absl::StatusOr<data::v1::ListJobErrorsResponse> List(
      const std::string& job, int page_size, const std::string& token) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    data::v1::ListJobErrorsRequest request;
    request.set_job_id(job);
    request.set_page_size(page_size);
    request.set_page_token(token);
    data::v1::ListJobErrorsResponse response;
    grpc::Status status = stub_->ListJobErrors(&context, request, &response);
    if (!status.ok()) return client::FromGrpcStatus(status);
    return response;
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<pqxx::connection> sql_;
  std::unique_ptr<testing::AvesdProcess> avesd_;
  std::unique_ptr<data::v1::BatchJobService::Stub> stub_;
};

TEST_F(JobErrorsTest, PagesThroughEveryErrorOnceNewestFirstWhileErrorsArrive) {
  std::vector<int64_t> seen;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<data::v1::ListJobErrorsResponse> page =
        List(kJob, 100, token);
    ASSERT_OK(page);
    ++pages;
    for (const data::v1::JobError& error : page->errors())
      seen.push_back(error.id());
    token = page->next_page_token();
    if (pages == 1) {
      // New errors arrive between pages: they are newer than the cursor, so
      // this paging never shows them and never shifts the existing rows.
      pqxx::nontransaction(*sql_).exec_params(
          "INSERT INTO batch_job_errors (job_id, error_message) SELECT $1, "
          "'late' "
          "FROM generate_series(1, 30)",
          std::string(kJob));
    }
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 250u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 250u)
      << "no repeats";
  // Newest first: created_at descending, then id descending.
  pqxx::result expected = pqxx::nontransaction(*sql_).exec_params(
      "SELECT id FROM batch_job_errors WHERE job_id = $1 AND error_message <> "
      "'late' "
      "ORDER BY created_at DESC, id DESC",
      std::string(kJob));
  ASSERT_EQ(expected.size(), seen.size());
  for (size_t i = 0; i < seen.size(); ++i)
    EXPECT_EQ(seen[i], expected[i][0].as<int64_t>()) << i;
}

TEST_F(JobErrorsTest, DefaultPageSizeAndTheLastPageHasNoToken) {
  absl::StatusOr<data::v1::ListJobErrorsResponse> page = List(kJob, 0, "");
  ASSERT_OK(page);
  EXPECT_EQ(page->errors_size(), 50);
  EXPECT_FALSE(page->next_page_token().empty());
  absl::StatusOr<data::v1::ListJobErrorsResponse> all = List(kJob, 1000, "");
  ASSERT_OK(all);
  EXPECT_EQ(all->errors_size(), 250);
  EXPECT_TRUE(all->next_page_token().empty());
  absl::StatusOr<data::v1::ListJobErrorsResponse> none =
      List(kOtherJob, 10, "");
  ASSERT_OK(none);
  EXPECT_EQ(none->errors_size(), 0);
}

TEST_F(JobErrorsTest, BadInputIsRefusedNamingTheField) {
  absl::StatusOr<data::v1::ListJobErrorsResponse> first = List(kJob, 10, "");
  ASSERT_OK(first);
  std::string tampered = first->next_page_token();
  tampered[5] = tampered[5] == 'x' ? 'y' : 'x';
  EXPECT_THAT(
      List(kJob, 10, tampered),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token:")));
  EXPECT_THAT(List(kOtherJob, 10, first->next_page_token()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("another list or filter")));
  EXPECT_THAT(List(kJob, 1001, ""), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("page_size:")));
  EXPECT_THAT(
      List("not-a-job", 10, ""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("job_id:")));
  EXPECT_THAT(List("00000000-0000-4000-8000-000000000000", 10, ""),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace aves
