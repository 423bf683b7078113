// A bulk load's header, checked against a catalog: every refusal names its
// field, in the order the fields are checked; a good header becomes the
// load's spec.
#include "server/bulk/header.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/common/uuid.h"
#include "tests/support/status_matchers.h"

namespace aves::bulk {
namespace {

using ::aves::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TableCatalog MakeCatalog() {
  TableInfo users;
  users.name = "users";
  for (const char* name : {"id", "email", "name"}) {
    ColumnInfo column;
    column.name = name;
    column.kind =
        std::string(name) == "id" ? ColumnKind::kUuid : ColumnKind::kText;
    // id has a default; email must be given.
    column.nullable = std::string(name) == "name";
    column.has_default = std::string(name) == "id";
    users.columns.push_back(column);
  }
  return TableCatalog::Of({users});
}

// The catalog ValidatedHeader's columns point into: it outlives them.
const TableCatalog& Catalog() {
  static const TableCatalog* const catalog = new TableCatalog(MakeCatalog());
  return *catalog;
}

LoadRequest Request() {
  LoadRequest request;
  request.load_id = "load-7";
  request.table = "users";
  request.columns = {"email", "name"};
  request.mode = LoadMode::kInsert;
  return request;
}

absl::Status Refusal(const LoadRequest& request,
                     const HeaderLimits& limits = {}) {
  return ValidateHeader(request, Catalog(), limits).status();
}

TEST(HeaderTest, AGoodHeaderBecomesTheSpec) {
  LoadRequest request = Request();
  request.total_rows = 10;
  request.batch_size = 7;
  absl::StatusOr<ValidatedHeader> header =
      ValidateHeader(request, Catalog(), {});
  ASSERT_OK(header);
  EXPECT_EQ(header->spec.load_id, "load-7");
  EXPECT_EQ(header->spec.table, "users");
  EXPECT_THAT(header->spec.columns, ElementsAre("email", "name"));
  EXPECT_EQ(header->spec.mode, LoadMode::kInsert);
  EXPECT_EQ(header->spec.batch_rows, 7);
  EXPECT_EQ(header->spec.total_rows, 10);
  ASSERT_EQ(header->columns.size(), 2u);
  EXPECT_EQ(header->columns[1]->name, "name");
}

TEST(HeaderTest, ALoadWithoutAnIdGetsARandomOneAndTheDefaultBatch) {
  LoadRequest request = Request();
  request.load_id.clear();
  HeaderLimits limits;
  limits.default_batch_rows = 5000;
  limits.max_batch_rows = 300;
  absl::StatusOr<ValidatedHeader> first =
      ValidateHeader(request, Catalog(), limits);
  absl::StatusOr<ValidatedHeader> second =
      ValidateHeader(request, Catalog(), limits);
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_TRUE(common::IsCanonicalUuid(first->spec.load_id));
  EXPECT_NE(first->spec.load_id, second->spec.load_id);
  EXPECT_EQ(first->spec.batch_rows, 300) << "the default, capped by the limit";
}

TEST(HeaderTest, TableAndColumnsMustBeTheCatalogs) {
  LoadRequest request = Request();
  request.table = "users; DROP TABLE users";
  EXPECT_THAT(Refusal(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("header.table: ")));
  request = Request();
  request.columns.clear();
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.columns: required")));
  request.columns = {"email", "password"};
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.columns[1]: 'password'")));
  request.columns = {"email", "email"};
  EXPECT_THAT(Refusal(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("given twice")));
}

TEST(HeaderTest, TheModeIsRequiredAndKnown) {
  LoadRequest request = Request();
  request.mode.reset();
  EXPECT_THAT(Refusal(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("header.mode: required")));
  request.unknown_mode = true;
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.mode: unknown mode")));
}

TEST(HeaderTest, AnUpsertNamesItsKeyAmongTheColumnsAndNeverUpdatesIt) {
  LoadRequest request = Request();
  request.mode = LoadMode::kUpsert;
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.conflict_columns: UPSERT needs")));
  request.conflict_columns = {"id"};
  EXPECT_THAT(
      Refusal(request),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("header.conflict_columns[0]: 'id' is not one of "
                         "header.columns")));
  request.conflict_columns = {"email"};
  request.update_columns = {"email"};
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.update_columns[0]: a conflict "
                                 "column cannot be updated")));
  request.update_columns = {"name"};
  absl::StatusOr<ValidatedHeader> header =
      ValidateHeader(request, Catalog(), {});
  ASSERT_OK(header);
  EXPECT_THAT(header->spec.conflict_columns, ElementsAre("email"));
  EXPECT_THAT(header->spec.update_columns, ElementsAre("name"));
}

TEST(HeaderTest, ReturningNamesItsColumnsAndCommitsPerBatch) {
  LoadRequest request = Request();
  request.mode = LoadMode::kReturning;
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.returning_columns: RETURNING needs")));
  request.returning_columns = {"id", "nope"};
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.returning_columns[1]")));
  request.returning_columns = {"id"};
  request.atomic = true;
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.atomic: RETURNING loads commit per "
                                 "batch")));
  request.atomic = false;
  absl::StatusOr<ValidatedHeader> header =
      ValidateHeader(request, Catalog(), {});
  ASSERT_OK(header);
  EXPECT_THAT(header->spec.returning_columns, ElementsAre("id"));
}

TEST(HeaderTest, SizesAndTheLoadIdAreBounded) {
  HeaderLimits limits;
  limits.max_batch_rows = 100;
  LoadRequest request = Request();
  request.batch_size = 101;
  EXPECT_THAT(
      Refusal(request, limits),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("header.batch_size: 101 is outside [0, 100]")));
  request.batch_size = -1;
  EXPECT_THAT(Refusal(request, limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.batch_size")));
  request = Request();
  request.total_rows = -5;
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.total_rows: must not be negative")));
  request = Request();
  request.load_id = std::string(201, 'x');
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.load_id: longer than 200 bytes")));
  request.load_id = std::string("a\0b", 3);
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.load_id: contains a NUL")));
}

TEST(HeaderTest, ANotNullColumnWithoutADefaultMustBeAmongTheColumns) {
  LoadRequest request = Request();
  request.columns = {"name"};
  EXPECT_THAT(Refusal(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.columns: leaves out email of users: "
                                 "NOT NULL without a default")));
  request.columns = {"email"};  // id has a default, name may be NULL
  EXPECT_OK(Refusal(request));
}

TEST(HeaderTest, MaxErrorsDefaultsToTheServersAndIsBounded) {
  HeaderLimits limits;
  limits.default_max_errors = 25;
  limits.max_max_errors = 100;
  LoadRequest request = Request();
  absl::StatusOr<ValidatedHeader> header =
      ValidateHeader(request, Catalog(), limits);
  ASSERT_OK(header);
  EXPECT_EQ(header->spec.max_errors, 25);
  request.max_errors = 0;
  header = ValidateHeader(request, Catalog(), limits);
  ASSERT_OK(header);
  EXPECT_EQ(header->spec.max_errors, 0);
  for (int64_t bad : {int64_t{-1}, int64_t{101}}) {
    request.max_errors = bad;
    EXPECT_THAT(Refusal(request, limits),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("header.max_errors: ")));
  }
  // An atomic load fails at its first bad row.
  request.atomic = true;
  request.max_errors = 5;
  EXPECT_THAT(Refusal(request, limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.max_errors: an atomic load fails")));
  request.max_errors.reset();
  header = ValidateHeader(request, Catalog(), limits);
  ASSERT_OK(header);
  EXPECT_EQ(header->spec.max_errors, 0);
}

}  // namespace
}  // namespace aves::bulk
