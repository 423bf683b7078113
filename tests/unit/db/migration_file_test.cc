#include "server/db/migration_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/common/crypto.h"
#include "tests/support/status_matchers.h"

namespace aves::db {
namespace {

using ::aves::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MigrationFileTest, ParsesVersionNameAndChecksum) {
  absl::StatusOr<MigrationFile> file =
      ParseMigrationFile("012_add_things.sql", "SELECT 1;");
  ASSERT_OK(file);
  EXPECT_EQ(file->version, 12);
  EXPECT_EQ(file->name, "add_things");
  EXPECT_EQ(file->filename, "012_add_things.sql");
  EXPECT_EQ(file->checksum, common::Sha256Hex("SELECT 1;"));
  EXPECT_FALSE(file->no_transaction);
}

TEST(MigrationFileTest, Sha256MatchesKnownVector) {
  EXPECT_EQ(common::Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(common::Sha256Hex("SELECT 1;"), common::Sha256Hex("SELECT 1; "));
}

TEST(MigrationFileTest, RejectsBadNamesAndEmptyFiles) {
  for (const char* bad :
       {"1_x.sql", "012-add.sql", "012_Add.sql", "012_add.txt", "abc_x.sql"}) {
    EXPECT_THAT(ParseMigrationFile(bad, "SELECT 1;"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad)))
        << bad;
  }
  EXPECT_THAT(
      ParseMigrationFile("001_empty.sql", "-- only a comment\n\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no statements")));
}

TEST(MigrationFileTest, NoTransactionMarkerOnlyInLeadingComments) {
  absl::StatusOr<MigrationFile> marked =
      ParseMigrationFile("002_x.sql",
                         "-- Why this file\n-- aves:no-transaction\nCREATE "
                         "INDEX CONCURRENTLY a ON t(c);");
  ASSERT_OK(marked);
  EXPECT_TRUE(marked->no_transaction);
  absl::StatusOr<MigrationFile> late =
      ParseMigrationFile("003_x.sql", "SELECT 1;\n-- aves:no-transaction\n");
  ASSERT_OK(late);
  EXPECT_FALSE(late->no_transaction);
}

TEST(MigrationFileTest, SetIsOrderedAndVersionsUnique) {
  absl::StatusOr<std::vector<MigrationFile>> set = ParseMigrationSet(
      {{"010_b.sql", "SELECT 2;"}, {"002_a.sql", "SELECT 1;"}});
  ASSERT_OK(set);
  ASSERT_EQ(set->size(), 2u);
  EXPECT_EQ((*set)[0].version, 2);
  EXPECT_EQ((*set)[1].version, 10);
  EXPECT_THAT(ParseMigrationSet(
                  {{"002_a.sql", "SELECT 1;"}, {"002_b.sql", "SELECT 2;"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("share version 2")));
}

TEST(MigrationFileTest, BuiltInSetIsContiguousAndEndsWithTheSeedIndexes) {
  absl::StatusOr<std::vector<MigrationFile>> set = BuiltInMigrations();
  ASSERT_OK(set);
  ASSERT_GE(set->size(), 9u);
  for (size_t i = 0; i < set->size(); ++i)
    EXPECT_EQ((*set)[i].version, static_cast<int>(i) + 1);
  const MigrationFile& indexes = (*set)[8];
  EXPECT_EQ(indexes.filename, "009_optimize_cache_indexes.sql");
  EXPECT_TRUE(indexes.no_transaction);
  std::vector<std::string> names;
  for (const std::string& statement : SplitSqlStatements(indexes.sql)) {
    if (auto name = ConcurrentIndexName(statement)) names.push_back(*name);
  }
  EXPECT_THAT(
      names,
      ElementsAre("idx_exercise_cache_lookup", "idx_exercise_cache_expires",
                  "idx_ai_annotations_image", "idx_ai_annotations_status",
                  "idx_batch_jobs_status", "idx_batch_jobs_type",
                  "idx_batch_job_errors_job"));
  for (size_t i = 0; i < 8; ++i)
    EXPECT_FALSE((*set)[i].no_transaction) << (*set)[i].filename;
}

TEST(SplitSqlStatementsTest, SplitsAtTopLevelSemicolons) {
  EXPECT_THAT(SplitSqlStatements("SELECT 1; SELECT 2;\n\nSELECT 3"),
              ElementsAre("SELECT 1", "SELECT 2", "SELECT 3"));
}

TEST(SplitSqlStatementsTest, IgnoresSemicolonsInStringsIdentifiersAndComments) {
  EXPECT_THAT(
      SplitSqlStatements("SELECT 'a;b', 'it''s;'; SELECT \"x;y\" FROM t;"),
      ElementsAre("SELECT 'a;b', 'it''s;'", "SELECT \"x;y\" FROM t"));
  EXPECT_THAT(
      SplitSqlStatements("-- a; comment\nSELECT 1 /* c; /* nested; */ d; */ ;"),
      ElementsAre("-- a; comment\nSELECT 1 /* c; /* nested; */ d; */"));
  EXPECT_THAT(SplitSqlStatements("SELECT E'\\';' ; SELECT 2"),
              ElementsAre("SELECT E'\\';'", "SELECT 2"));
}

TEST(SplitSqlStatementsTest, HonoursDollarQuoting) {
  const char* sql =
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; "
      "$body$;\n"
      "DO $$ BEGIN PERFORM 1; END $$;";
  EXPECT_THAT(SplitSqlStatements(sql),
              ElementsAre("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS "
                          "$body$ SELECT 1; $body$",
                          "DO $$ BEGIN PERFORM 1; END $$"));
  // $1 is a parameter, not a dollar quote.
  EXPECT_THAT(SplitSqlStatements("SELECT $1; SELECT 2"),
              ElementsAre("SELECT $1", "SELECT 2"));
}

TEST(SplitSqlStatementsTest, DropsCommentOnlyPieces) {
  EXPECT_THAT(SplitSqlStatements("SELECT 1;\n-- trailing comment\n"),
              ElementsAre("SELECT 1"));
  EXPECT_TRUE(SplitSqlStatements("  ;; -- nothing\n").empty());
}

// Found by fuzz/migration_file_fuzz.cc (corpus files comment_never_closed,
// nested_comment_only): the splitter nests /* */ comments as PostgreSQL
// does, but its test for "only comments" did not, and took a comment left
// open for one that closed, so a file ending in one ran as if it were whole.
TEST(SplitSqlStatementsTest, BlockCommentsNestAndOneLeftOpenReachesPostgresql) {
  EXPECT_TRUE(SplitSqlStatements("/* a /* b */ SELECT 1; */").empty());
  EXPECT_THAT(SplitSqlStatements("SELECT 1;\n/* never closed; SELECT 2;"),
              ElementsAre("SELECT 1", "/* never closed; SELECT 2;"));
  EXPECT_THAT(SplitSqlStatements("-- a* ;b \n;/*/\n-- c"),
              ElementsAre("/*/\n-- c"));
  EXPECT_THAT(
      ParseMigrationFile("001_x.sql", "/* a /* b */ SELECT 1; */"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no statements")));
  EXPECT_OK(ParseMigrationFile("001_x.sql", "SELECT 1; /* open"));
}

TEST(ConcurrentIndexNameTest, FindsTheName) {
  EXPECT_EQ(ConcurrentIndexName(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_a ON t (c)"),
            "idx_a");
  EXPECT_EQ(ConcurrentIndexName(
                "-- why\ncreate unique index concurrently Idx_B on t(c)"),
            "idx_b");
  EXPECT_EQ(
      ConcurrentIndexName("CREATE INDEX CONCURRENTLY \"Odd Name\" ON t(c)"),
      "Odd Name");
  EXPECT_EQ(ConcurrentIndexName(
                "/* a /* b */ c */ CREATE INDEX CONCURRENTLY idx_c ON t (c)"),
            "idx_c")
      << "comments nest";
  EXPECT_EQ(
      ConcurrentIndexName("/*/ x */ CREATE INDEX CONCURRENTLY idx_d ON t"),
      "idx_d")
      << "/*/ opens a comment, it does not close one";
}

TEST(ConcurrentIndexNameTest, IgnoresOtherStatements) {
  EXPECT_EQ(ConcurrentIndexName("CREATE INDEX idx_a ON t (c)"), std::nullopt);
  EXPECT_EQ(ConcurrentIndexName("CREATE INDEX CONCURRENTLY ON t (c)"),
            std::nullopt);
  EXPECT_EQ(ConcurrentIndexName("ANALYZE t"), std::nullopt);
  EXPECT_EQ(ConcurrentIndexName(""), std::nullopt);
}

}  // namespace
}  // namespace aves::db
