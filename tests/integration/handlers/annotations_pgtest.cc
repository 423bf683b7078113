// AnnotationService over a real PostgreSQL, through an in-process server and
// the client library: lists in order with keyset paging under concurrent
// inserts, validation naming fields, and the review workflow's optimistic
// concurrency (two reviewers, exactly one wins).
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "client/lib/annotation_client.h"
#include "client/lib/channel.h"
#include "tests/support/in_process_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

namespace v1 = data::v1;
using ::aves::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kImage[] = "11111111-1111-4111-8111-111111111111";
constexpr char kOtherImage[] = "22222222-2222-4222-8222-222222222222";

class AnnotationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("annotations");
    ASSERT_OK(database);
    database_ = *std::move(database);
    sql_ = database_->Connect();
    pqxx::nontransaction tx(*sql_);
    tx.exec_params(
        "INSERT INTO images (id, url) VALUES ($1, 'https://x/1.jpg'), ($2, "
        "'https://x/2.jpg')",
        std::string(kImage), std::string(kOtherImage));
    // 120 annotations of kImage: confidences repeat (ties broken by id),
    // created_at repeats every 7 rows; statuses cycle. 30 of the other image.
    tx.exec_params(
        "INSERT INTO ai_annotation_items (image_id, spanish_term, "
        "english_term, bounding_box, annotation_type, confidence, status, "
        "created_at) "
        "SELECT $1, 'término ' || i, 'term ' || i, '{\"x\": 1}', 'anatomy', "
        "(i % 20) / 20.0, (ARRAY['pending','approved','rejected','edited'])[1 "
        "+ i % 4], now() - make_interval(mins => i / 7) "
        "FROM generate_series(1, 120) AS i",
        std::string(kImage));
    tx.exec_params(
        "INSERT INTO ai_annotation_items (image_id, spanish_term, "
        "english_term, bounding_box, annotation_type, confidence) "
        "SELECT $1, 'otro', 'other', '{}', 'anatomy', 0.99 FROM "
        "generate_series(1, 30)",
        std::string(kOtherImage));
    auto server = testing::InProcessServer::Start(database_->conninfo());
    ASSERT_OK(server);
    server_ = *std::move(server);
    client_ = std::make_unique<client::AnnotationClient>(server_->channel());
  }

  std::vector<std::string> Ids(const std::string& sql) {
    std::vector<std::string> ids;
    for (const pqxx::row& row : pqxx::nontransaction(*sql_).exec(sql))
      ids.push_back(row[0].as<std::string>());
    return ids;
  }

  std::string InsertPending(const std::string& image, double confidence) {
    return pqxx::nontransaction(*sql_)
        .exec_params(
            "INSERT INTO ai_annotation_items (image_id, spanish_term, "
            "english_term, bounding_box, annotation_type, confidence) VALUES "
            "($1, 'nuevo', 'new', '{}', 'anatomy', $2) RETURNING id",
            image, confidence)[0][0]
        .as<std::string>();
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<pqxx::connection> sql_;
  std::unique_ptr<testing::InProcessServer> server_;
  std::unique_ptr<client::AnnotationClient> client_;
};

TEST_F(AnnotationsTest, ImageListPagesHighestConfidenceFirstWhileRowsArrive) {
  const std::vector<std::string> expected = Ids(
      "SELECT id FROM ai_annotation_items WHERE image_id = "
      "'11111111-1111-4111-8111-111111111111' AND confidence >= 0.25 ORDER BY "
      "confidence DESC, id DESC");
  ASSERT_EQ(expected.size(), 90u);
  std::vector<std::string> seen;
  v1::ListImageAnnotationsRequest request;
  request.set_image_id(kImage);
  request.set_min_confidence(0.25f);
  request.set_page_size(25);
  int pages = 0;
  do {
    auto page = client_->ListImageAnnotations(request);
    ASSERT_OK(page);
    ++pages;
    float previous = 2;
    for (const v1::Annotation& a : page->annotations()) {
      EXPECT_EQ(a.image_id(), kImage);
      EXPECT_GE(a.confidence(), 0.25f);
      EXPECT_LE(a.confidence(), previous);
      previous = a.confidence();
      seen.push_back(a.id());
    }
    // Rows arrive between pages, above and below the cursor: existing rows
    // are neither repeated nor skipped.
    InsertPending(kImage, 0.95);
    InsertPending(kImage, 0.30);
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty() && pages < 20);
  EXPECT_EQ(pages, 4);
  std::vector<std::string> seen_existing;
  const std::set<std::string> existing(expected.begin(), expected.end());
  for (const std::string& id : seen)
    if (existing.count(id)) seen_existing.push_back(id);
  EXPECT_EQ(seen_existing, expected);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size())
      << "no row twice";
}

TEST_F(AnnotationsTest, ReviewQueuePagesNewestFirstWhileRowsArrive) {
  const std::vector<std::string> expected = Ids(
      "SELECT id FROM ai_annotation_items WHERE status = 'pending' ORDER BY "
      "created_at DESC, id DESC");
  ASSERT_EQ(expected.size(), 60u);  // 30 of kImage, 30 of the other image
  std::vector<std::string> seen;
  v1::ListAnnotationsByStatusRequest request;
  request.set_status(v1::ANNOTATION_STATUS_PENDING);
  request.set_page_size(16);
  do {
    auto page = client_->ListAnnotationsByStatus(request);
    ASSERT_OK(page);
    for (const v1::Annotation& a : page->annotations()) {
      EXPECT_EQ(a.status(), v1::ANNOTATION_STATUS_PENDING);
      seen.push_back(a.id());
    }
    InsertPending(kOtherImage, 0.5);  // newer than the cursor: not shown
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty() && seen.size() < 1000);
  EXPECT_EQ(seen, expected);

  // A token is bound to its status.
  request.set_page_token("");
  auto first = client_->ListAnnotationsByStatus(request);
  ASSERT_OK(first);
  request.set_status(v1::ANNOTATION_STATUS_APPROVED);
  request.set_page_token(first->next_page_token());
  EXPECT_THAT(client_->ListAnnotationsByStatus(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("another list or filter")));
}

TEST_F(AnnotationsTest, BadListInputIsRefusedNamingTheField) {
  v1::ListImageAnnotationsRequest image;
  image.set_image_id("not-a-uuid");
  absl::Status bad_id = client_->ListImageAnnotations(image).status();
  EXPECT_THAT(bad_id, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("image_id")));
  EXPECT_THAT(client::FieldViolations(bad_id),
              ElementsAre(Pair("image_id", HasSubstr("UUID"))));
  image.set_image_id(kImage);
  image.set_min_confidence(1.5f);
  EXPECT_THAT(client_->ListImageAnnotations(image),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("min_confidence")));
  image.clear_min_confidence();
  image.set_page_size(1001);
  EXPECT_THAT(
      client_->ListImageAnnotations(image),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  image.set_page_size(10);
  image.set_page_token("garbage");
  EXPECT_THAT(
      client_->ListImageAnnotations(image),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));

  v1::ListAnnotationsByStatusRequest queue;
  EXPECT_THAT(client_->ListAnnotationsByStatus(queue),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("status: required")));
  queue.set_status(static_cast<v1::AnnotationStatus>(42));
  EXPECT_THAT(client_->ListAnnotationsByStatus(queue),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown status 42")));
}

TEST_F(AnnotationsTest, ReviewAppliesOnlyFromTheExpectedStatus) {
  const std::string id = InsertPending(kImage, 0.7);
  v1::ReviewAnnotationRequest review;
  review.set_id(id);
  review.set_decision(v1::REVIEW_DECISION_APPROVE);
  review.set_reviewer("ana");
  review.set_expected_status(v1::ANNOTATION_STATUS_PENDING);
  auto approved = client_->ReviewAnnotation(review);
  ASSERT_OK(approved);
  EXPECT_EQ(approved->status(), v1::ANNOTATION_STATUS_APPROVED);
  EXPECT_EQ(approved->reviewed_by(), "ana");
  EXPECT_TRUE(approved->has_reviewed_at());

  // Stale: it is approved now.
  review.set_decision(v1::REVIEW_DECISION_REJECT);
  review.set_reviewer("bob");
  EXPECT_THAT(client_->ReviewAnnotation(review),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is approved, not pending")));
  // With the status bob saw, the correction applies.
  review.set_expected_status(v1::ANNOTATION_STATUS_APPROVED);
  auto rejected = client_->ReviewAnnotation(review);
  ASSERT_OK(rejected);
  EXPECT_EQ(rejected->status(), v1::ANNOTATION_STATUS_REJECTED);
  EXPECT_EQ(rejected->reviewed_by(), "bob");

  review.set_id("00000000-0000-4000-8000-000000000000");
  EXPECT_THAT(client_->ReviewAnnotation(review),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AnnotationsTest, EditChangesOnlyTheGivenFields) {
  const std::string id = InsertPending(kImage, 0.7);
  v1::ReviewAnnotationRequest edit;
  edit.set_id(id);
  edit.set_decision(v1::REVIEW_DECISION_EDIT);
  edit.set_reviewer("ana");
  edit.set_expected_status(v1::ANNOTATION_STATUS_PENDING);
  edit.set_english_term("tail feathers");
  edit.set_bounding_box(R"({"x": 10, "y": 20, "width": 30, "height": 40})");
  edit.set_difficulty_level(3);
  auto edited = client_->ReviewAnnotation(edit);
  ASSERT_OK(edited);
  EXPECT_EQ(edited->status(), v1::ANNOTATION_STATUS_EDITED);
  EXPECT_EQ(edited->english_term(), "tail feathers");
  EXPECT_EQ(edited->spanish_term(), "nuevo");  // unchanged
  EXPECT_EQ(edited->annotation_type(), "anatomy");
  EXPECT_EQ(edited->difficulty_level(), 3);
  EXPECT_THAT(edited->bounding_box(), HasSubstr("\"width\": 30"));
}

TEST_F(AnnotationsTest, BadReviewsAreRefusedAndChangeNothing) {
  const std::string id = InsertPending(kImage, 0.7);
  auto review = [&] {
    v1::ReviewAnnotationRequest r;
    r.set_id(id);
    r.set_decision(v1::REVIEW_DECISION_EDIT);
    r.set_reviewer("ana");
    r.set_expected_status(v1::ANNOTATION_STATUS_PENDING);
    return r;
  };
  auto field_of = [&](const v1::ReviewAnnotationRequest& r) {
    absl::Status status = client_->ReviewAnnotation(r).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    auto violations = client::FieldViolations(status);
    return violations.empty() ? std::string("?") : violations[0].first;
  };
  EXPECT_EQ(field_of(review()), "decision");  // EDIT with nothing edited
  auto approve_with_edit = review();
  approve_with_edit.set_decision(v1::REVIEW_DECISION_APPROVE);
  approve_with_edit.set_english_term("x");
  EXPECT_EQ(field_of(approve_with_edit), "decision");
  auto bad_json = review();
  bad_json.set_bounding_box("{not json");
  EXPECT_EQ(field_of(bad_json), "bounding_box");
  auto scalar_box = review();
  scalar_box.set_bounding_box("42");
  EXPECT_EQ(field_of(scalar_box), "bounding_box");
  auto deep_box = review();  // deeper than PostgreSQL's limit (54001)
  deep_box.set_bounding_box(std::string(20000, '[') + std::string(20000, ']'));
  EXPECT_EQ(field_of(deep_box), "bounding_box");
  auto bad_difficulty = review();
  bad_difficulty.set_difficulty_level(6);
  EXPECT_EQ(field_of(bad_difficulty), "difficulty_level");
  auto empty_term = review();
  empty_term.set_spanish_term("");
  EXPECT_EQ(field_of(empty_term), "spanish_term");
  auto no_reviewer = review();
  no_reviewer.set_english_term("x");
  no_reviewer.clear_reviewer();
  EXPECT_EQ(field_of(no_reviewer), "reviewer");
  auto no_expected = review();
  no_expected.set_english_term("x");
  no_expected.clear_expected_status();
  EXPECT_EQ(field_of(no_expected), "expected_status");
  auto no_decision = review();
  no_decision.clear_decision();
  EXPECT_EQ(field_of(no_decision), "decision");
  auto bad_id = review();
  bad_id.set_english_term("x");
  bad_id.set_id("123");
  EXPECT_EQ(field_of(bad_id), "id");
  // Nothing of any of them was written.
  pqxx::row row = pqxx::nontransaction(*sql_).exec_params1(
      "SELECT status, english_term, reviewed_by IS NULL FROM "
      "ai_annotation_items WHERE id = $1",
      id);
  EXPECT_EQ(row[0].as<std::string>(), "pending");
  EXPECT_EQ(row[1].as<std::string>(), "new");
  EXPECT_TRUE(row[2].as<bool>());
}

TEST_F(AnnotationsTest, OfConcurrentReviewsOfOneItemExactlyOneWins) {
  constexpr int kItems = 10;
  constexpr int kReviewers = 6;
  for (int item = 0; item < kItems; ++item) {
    const std::string id = InsertPending(kImage, 0.6);
    std::atomic<int> ready{0};
    std::vector<absl::Status> results(kReviewers);
    std::vector<std::thread> reviewers;
    for (int r = 0; r < kReviewers; ++r) {
      reviewers.emplace_back([&, r] {
        v1::ReviewAnnotationRequest review;
        review.set_id(id);
        review.set_decision(r % 2 ? v1::REVIEW_DECISION_APPROVE
                                  : v1::REVIEW_DECISION_REJECT);
        review.set_reviewer("reviewer-" + std::to_string(r));
        review.set_expected_status(v1::ANNOTATION_STATUS_PENDING);
        ++ready;
        while (ready.load() < kReviewers) std::this_thread::yield();
        results[r] = client_->ReviewAnnotation(review).status();
      });
    }
    for (std::thread& t : reviewers) t.join();
    int winners = 0;
    std::string winner;
    for (int r = 0; r < kReviewers; ++r) {
      if (results[r].ok()) {
        ++winners;
        winner = "reviewer-" + std::to_string(r);
      } else {
        EXPECT_EQ(results[r].code(), absl::StatusCode::kFailedPrecondition)
            << results[r];
      }
    }
    ASSERT_EQ(winners, 1) << "item " << item;
    EXPECT_EQ(pqxx::nontransaction(*sql_)
                  .exec_params1(
                      "SELECT reviewed_by FROM ai_annotation_items WHERE id = "
                      "$1",
                      id)[0]
                  .as<std::string>(),
              winner);
  }
}

}  // namespace
}  // namespace aves
