// The migration-file splitter (server/db/migration_file): any text, never a
// crash, and the statements it finds are the file's code, all of it, once:
// each is a trimmed, non-blank piece of the text, in order; splitting one
// again gives just itself; and what lies between them is only whitespace,
// semicolons and comments (else the migrator would silently skip SQL). The
// file parser and ConcurrentIndexName run over the same text.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>

#include "fuzz/fuzz_check.h"
#include "server/db/migration_file.h"

namespace aves::fuzz {
namespace {

// True when `gap` holds nothing but whitespace, semicolons, -- comments and
// (nesting) /* */ comments. A -- comment may run to the end of the text, not
// of a gap (that is a piece cut in two); a /* comment that never closes is
// not a comment at all but an error PostgreSQL must get to report.
bool OnlyCommentsAndSpace(absl::string_view gap, bool at_end) {
  size_t i = 0;
  while (i < gap.size()) {
    if (gap.compare(i, 2, "--") == 0) {
      i = gap.find('\n', i);
      if (i == absl::string_view::npos) return at_end;
    } else if (gap.compare(i, 2, "/*") == 0) {
      int depth = 1;
      i += 2;
      while (i < gap.size() && depth > 0) {
        if (gap.compare(i, 2, "/*") == 0) {
          ++depth, i += 2;
        } else if (gap.compare(i, 2, "*/") == 0) {
          --depth, i += 2;
        } else {
          ++i;
        }
      }
      if (depth > 0) return false;
    } else if (gap[i] == ';' ||
               std::isspace(static_cast<unsigned char>(gap[i]))) {
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

// True when statements[k...] can be placed in sql[at...] in order, each a
// whole piece (a semicolon, whitespace or an end on either side), with only
// comments and whitespace around them. Searched, since a statement's text
// can also occur inside a comment before it; `budget` bounds the search.
bool Place(absl::string_view sql, const std::vector<std::string>& statements,
           size_t k, size_t at, int* budget) {
  if (--*budget <= 0) return false;
  if (k == statements.size()) return OnlyCommentsAndSpace(sql.substr(at), true);
  auto bounds = [&](size_t i) {
    return i >= sql.size() || sql[i] == ';' ||
           std::isspace(static_cast<unsigned char>(sql[i]));
  };
  const std::string& statement = statements[k];
  for (size_t found = sql.find(statement, at); found != absl::string_view::npos;
       found = sql.find(statement, found + 1)) {
    if (--*budget <= 0) return false;
    if ((found == 0 || bounds(found - 1)) && bounds(found + statement.size()) &&
        OnlyCommentsAndSpace(sql.substr(at, found - at), false) &&
        Place(sql, statements, k + 1, found + statement.size(), budget)) {
      return true;
    }
  }
  return false;
}

}  // namespace
}  // namespace aves::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aves;
  using namespace aves::fuzz;
  const absl::string_view sql(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> statements = db::SplitSqlStatements(sql);

  size_t semicolons = 0;
  for (char c : sql) semicolons += c == ';';
  AVES_FUZZ_CHECK(statements.size() <= semicolons + 1, Show(sql));

  for (const std::string& statement : statements) {
    const std::string what =
        absl::StrCat("statement ", Show(statement), " of ", Show(sql));
    AVES_FUZZ_CHECK(!statement.empty(), what);
    AVES_FUZZ_CHECK(
        !std::isspace(static_cast<unsigned char>(statement[0])) &&
            !std::isspace(static_cast<unsigned char>(statement.back())),
        what);
    AVES_FUZZ_CHECK(!OnlyCommentsAndSpace(statement, true), what);
    const std::vector<std::string> again = db::SplitSqlStatements(statement);
    AVES_FUZZ_CHECK(again.size() == 1 && again[0] == statement,
                    absl::StrCat(what, " splits again into ",
                                 Show(absl::StrJoin(again, "|"))));
    (void)db::ConcurrentIndexName(statement);
  }
  int budget = 10000;
  const bool placed = Place(sql, statements, 0, 0, &budget);
  AVES_FUZZ_CHECK(
      placed || budget <= 0,
      absl::StrCat("code dropped: no place for the statements ",
                   Show(absl::StrJoin(statements, "|")), " in ", Show(sql)));

  absl::StatusOr<db::MigrationFile> file =
      db::ParseMigrationFile("001_fuzz.sql", sql);
  AVES_FUZZ_CHECK(file.ok() || statements.empty(),
                  absl::StrCat(file.status().ToString(), ": ", Show(sql)));
  return 0;
}
