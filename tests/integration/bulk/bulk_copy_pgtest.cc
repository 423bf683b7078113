// The building blocks of bulk loads against a real PostgreSQL: the table
// catalog (allow-list, live columns) and COPY text that PostgreSQL reads
// back exactly — tabs, newlines, backslashes, quotes, Unicode, "" vs NULL,
// bytea, timestamps, large jsonb.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include "server/bulk/copy_text.h"
#include "server/bulk/table_catalog.h"
#include "server/db/database.h"
#include "server/db/sql_identifier.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

using ::aves::testing::StatusIs;
using bulk::CellValue;
using bulk::ColumnKind;
using ::testing::HasSubstr;

class BulkCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("bulk_copy");
    ASSERT_OK(database);
    database_ = *std::move(database);
    sql_ = database_->Connect();
    db::PoolOptions options;
    options.min_connections = 1;
    pool_ = std::make_unique<db::Database>(
        database_->conninfo(), options, std::vector<db::PreparedStatement>{});
    pool_->Start();
    ASSERT_TRUE(pool_->pool().WaitUntilReady(absl::Seconds(30)));
  }

  absl::StatusOr<bulk::TableCatalog> LoadCatalog(
      const std::vector<std::string>& tables) {
    common::CallContext context;
    context.deadline = absl::Now() + absl::Seconds(30);
    return bulk::TableCatalog::Load(*pool_, context, tables);
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<pqxx::connection> sql_;
  std::unique_ptr<db::Database> pool_;
};

TEST_F(BulkCopyTest, TheCatalogHoldsTheSchemasTablesWithTheirColumns) {
  absl::StatusOr<bulk::TableCatalog> catalog =
      LoadCatalog(bulk::TableCatalog::DefaultTables());
  ASSERT_OK(catalog);
  absl::StatusOr<const bulk::TableInfo*> progress =
      catalog->Table("table", "user_progress");
  ASSERT_OK(progress);
  ASSERT_EQ((*progress)->columns.size(), 5u);
  EXPECT_EQ((*progress)->columns[0].name, "user_id");
  EXPECT_EQ((*progress)->columns[0].kind, ColumnKind::kUuid);
  EXPECT_FALSE((*progress)->columns[0].nullable);
  EXPECT_EQ((*progress)->columns[2].kind, ColumnKind::kInt32);
  EXPECT_TRUE((*progress)->columns[2].has_default);
  EXPECT_EQ((*progress)->columns[4].kind, ColumnKind::kTimestampTz);
  EXPECT_TRUE((*progress)->columns[4].nullable);
  absl::StatusOr<const bulk::TableInfo*> annotations =
      catalog->Table("table", "ai_annotation_items");
  ASSERT_OK(annotations);
  absl::StatusOr<std::vector<const bulk::ColumnInfo*>> columns =
      bulk::TableCatalog::Columns(**annotations, {"bounding_box", "confidence"},
                                  "columns");
  ASSERT_OK(columns);
  EXPECT_EQ((*columns)[0]->kind, ColumnKind::kJson);
  EXPECT_EQ((*columns)[1]->kind, ColumnKind::kFloat32);
}

TEST_F(BulkCopyTest, OnlyAllowedTablesAndRealColumnsResolve) {
  absl::StatusOr<bulk::TableCatalog> catalog =
      LoadCatalog({"users", "vocabulary"});
  ASSERT_OK(catalog);
  for (const char* name : {"batch_jobs", "pg_authid", "users; DROP TABLE users",
                           "\"users\"", "USERS", "public.users", ""}) {
    EXPECT_THAT(
        catalog->Table("table", name),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("table: ")))
        << name;
  }
  const bulk::TableInfo* users = *catalog->Table("table", "users");
  EXPECT_THAT(
      bulk::TableCatalog::Columns(*users, {"email", "id) --"}, "columns"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("columns[1]: 'id) --' is not a column")));
  EXPECT_THAT(
      bulk::TableCatalog::Columns(*users, {"email", "email"}, "columns"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("columns[1]: column 'email' is given twice")));
  EXPECT_THAT(LoadCatalog({"no_such_table"}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no_such_table")));
}

TEST_F(BulkCopyTest, CopyTextRoundTripsThroughPostgresql) {
  pqxx::nontransaction(*sql_).exec(
      "CREATE TABLE copy_probe (n int, t text, j jsonb, b bytea, ts "
      "timestamptz, f float8, ok boolean, u uuid)");
  std::string big_json = "{\"items\": [";
  for (int i = 0; i < 20000; ++i)
    big_json += (i ? "," : "") + std::string("\"tab\\there\\\\ \\\"q\\\" ") +
                std::to_string(i) + "\"";
  big_json += "]}";
  struct Probe {
    std::string text;
    bool null_text;
  };
  const std::vector<Probe> texts = {{"tab\there", false},
                                    {"new\nline\r\n", false},
                                    {"back\\slash \\N", false},
                                    {"quotes \" ' ", false},
                                    {"ñandú 🐦 ü", false},
                                    {"", false},
                                    {"", true},
                                    {"\\.", false}};
  std::string data;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::string line;
    const std::vector<std::pair<CellValue, ColumnKind>> cells = {
        {CellValue::Int64(static_cast<int64_t>(i)), ColumnKind::kInt32},
        {texts[i].null_text ? CellValue::Null()
                            : CellValue::String(texts[i].text),
         ColumnKind::kText},
        {CellValue::Json(i == 0 ? big_json : "{\"s\": \"a\\tb\\\\c\"}"),
         ColumnKind::kJson},
        {CellValue::Text(CellValue::Type::kBytes,
                         std::string("\x00\t\\\n\xff", 5)),
         ColumnKind::kBytea},
        {CellValue::Timestamp(absl::FromUnixMicros(1'700'000'000'123'456 +
                                                   static_cast<int64_t>(i))),
         ColumnKind::kTimestampTz},
        {CellValue::Double(0.1 * static_cast<double>(i)), ColumnKind::kFloat64},
        {CellValue::Bool(i % 2 == 0), ColumnKind::kBool},
        {CellValue::Uuid("6f1d0a3e-2b4c-4d5e-8f70-11223344556" +
                         std::to_string(i)),
         ColumnKind::kUuid}};
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) line += '\t';
      ASSERT_OK(bulk::AppendCopyField(cells[c].first, cells[c].second, &line));
    }
    data += line + "\n";
  }
  {
    pqxx::work tx(*sql_);
    // libpqxx 6.4's only public raw-line COPY writer is the deprecated
    // tablewriter (stream_to keeps write_raw_line private).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    // tablewriter puts the name into COPY as given: the catalog's names go
    // in quoted, as the service will pass them.
    const std::vector<std::string> columns = {
        db::QuoteIdentifier("n"),  db::QuoteIdentifier("t"),
        db::QuoteIdentifier("j"),  db::QuoteIdentifier("b"),
        db::QuoteIdentifier("ts"), db::QuoteIdentifier("f"),
        db::QuoteIdentifier("ok"), db::QuoteIdentifier("u")};
    pqxx::tablewriter copy(tx, db::QuoteIdentifier("copy_probe"),
                           columns.begin(), columns.end());
    size_t start = 0;
    while (start < data.size()) {
      const size_t end = data.find('\n', start);
      copy.write_raw_line(data.substr(start, end - start));
      start = end + 1;
    }
    copy.complete();
#pragma GCC diagnostic pop
    tx.commit();
  }
  pqxx::result rows = pqxx::nontransaction(*sql_).exec(
      "SELECT n, t, t IS NULL, NULL, encode(b, 'hex'), (extract(epoch FROM ts) "
      "* 1000000)::int8, f, ok, "
      "u::text, j->'s' #>> '{}', jsonb_array_length(j->'items'), "
      "j->'items'->>19999 FROM copy_probe ORDER BY n");
  ASSERT_EQ(rows.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const pqxx::row& row = rows[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(row[2].as<bool>(), texts[i].null_text);
    if (!texts[i].null_text) {
      EXPECT_EQ(row[1].as<std::string>(), texts[i].text);
    }
    EXPECT_EQ(row[4].as<std::string>(), "00095c0aff");
    EXPECT_EQ(row[5].as<int64_t>(),
              1'700'000'000'123'456 + static_cast<int64_t>(i));
    EXPECT_DOUBLE_EQ(row[6].as<double>(), 0.1 * static_cast<double>(i));
    EXPECT_EQ(row[7].as<bool>(), i % 2 == 0);
    EXPECT_EQ(row[8].as<std::string>(),
              "6f1d0a3e-2b4c-4d5e-8f70-11223344556" + std::to_string(i));
    if (i == 0) {
      EXPECT_EQ(row[10].as<int>(), 20000);
      EXPECT_EQ(row[11].as<std::string>(), "tab\there\\ \"q\" 19999");
    } else {
      EXPECT_EQ(row[9].as<std::string>(), "a\tb\\c");
    }
  }
}

}  // namespace
}  // namespace aves
