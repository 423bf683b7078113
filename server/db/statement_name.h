// Statement names: every statement avesd sends starts with a comment naming
// it ("/* aves:bulk_open_load */ SELECT ..."), so pg_stat_activity and
// pg_stat_statements show which of ours it is, and QueryMetrics times it
// under that name. Prepared statements get theirs when the pool prepares
// them (pg_connection.cc); fixed texts carry it in the constant.
#ifndef AVES_SERVER_DB_STATEMENT_NAME_H_
#define AVES_SERVER_DB_STATEMENT_NAME_H_

#include <string>

#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/string_view.h>

// The comment a fixed text starts with: AVES_SQL_NAME("get_job") "SELECT ...".
#define AVES_SQL_NAME(name) "/* aves:" name " */ "

namespace aves::db {

// `sql` with its name in front (for texts built at run time).
inline std::string Named(absl::string_view name, absl::string_view sql) {
  return absl::StrCat("/* aves:", name, " */ ", sql);
}

// The name a text's leading comment gives it, or "other".
inline absl::string_view StatementNameOf(absl::string_view sql) {
  constexpr absl::string_view kOpen = "/* aves:";
  if (!absl::StartsWith(sql, kOpen)) return "other";
  const size_t end = sql.find(" */", kOpen.size());
  return end == absl::string_view::npos
             ? "other"
             : sql.substr(kOpen.size(), end - kOpen.size());
}

}  // namespace aves::db

#endif  // AVES_SERVER_DB_STATEMENT_NAME_H_
