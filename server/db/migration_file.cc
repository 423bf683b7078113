#include "server/db/migration_file.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include <absl/status/status.h>
#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>

#include "server/common/crypto.h"
#include "server/common/status_macros.h"
#include "server/db/embedded_migrations.h"

namespace aves::db {
namespace {

// True when the leading comment block (before the first statement) contains
// the marker line.
bool HasNoTransactionMarker(absl::string_view sql) {
  for (absl::string_view line : absl::StrSplit(sql, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (!absl::StartsWith(line, "--")) return false;
    if (line == kNoTransactionMarker) return true;
  }
  return false;
}

// Length of the dollar-quote tag starting at sql[pos] ("$tag$" or "$$"), or 0.
size_t DollarTagLength(absl::string_view sql, size_t pos) {
  size_t end = pos + 1;
  while (
      end < sql.size() &&
      (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_')) {
    ++end;
  }
  if (end < sql.size() && sql[end] == '$' &&
      !(end > pos + 1 &&
        std::isdigit(static_cast<unsigned char>(sql[pos + 1])))) {
    return end - pos + 1;
  }
  return 0;
}

// Where the /* comment opening at sql[pos] ends: just past its "*/", for
// PostgreSQL's block comments nest; npos when it never closes.
size_t BlockCommentEnd(absl::string_view sql, size_t pos) {
  int depth = 1;
  size_t i = pos + 2;
  while (i < sql.size()) {
    if (sql.compare(i, 2, "/*") == 0) {
      ++depth;
      i += 2;
    } else if (sql.compare(i, 2, "*/") == 0) {
      i += 2;
      if (--depth == 0) return i;
    } else {
      ++i;
    }
  }
  return absl::string_view::npos;
}

// True when `text` holds something other than whitespace and comments. A
// /* comment that never closes counts as code: PostgreSQL must see it to
// refuse the file, which must not pass for complete.
bool HasCode(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "--") == 0) {
      i = text.find('\n', i);
      if (i == absl::string_view::npos) return false;
    } else if (text.compare(i, 2, "/*") == 0) {
      i = BlockCommentEnd(text, i);
      if (i == absl::string_view::npos) return true;
    } else if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    } else {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<MigrationFile> ParseMigrationFile(absl::string_view filename,
                                                 absl::string_view contents) {
  static const auto* kPattern =
      new std::regex(R"(^([0-9]{3,})_([a-z0-9_]+)\.sql$)");
  std::cmatch match;
  if (!std::regex_match(filename.begin(), filename.end(), match, *kPattern)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "migration file name '", filename, "' is not NNN_lowercase_name.sql"));
  }
  MigrationFile file;
  if (!absl::SimpleAtoi(match[1].str(), &file.version) || file.version <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("migration ", filename, ": bad version"));
  }
  if (!HasCode(contents)) {
    return absl::InvalidArgumentError(
        absl::StrCat("migration ", filename, " has no statements"));
  }
  file.name = match[2].str();
  file.filename = std::string(filename);
  file.sql = std::string(contents);
  file.checksum = common::Sha256Hex(contents);
  file.no_transaction = HasNoTransactionMarker(contents);
  return file;
}

absl::StatusOr<std::vector<MigrationFile>> ParseMigrationSet(
    const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<MigrationFile> parsed;
  for (const auto& [filename, contents] : files) {
    ASSIGN_OR_RETURN(MigrationFile file,
                     ParseMigrationFile(filename, contents));
    parsed.push_back(std::move(file));
  }
  std::sort(parsed.begin(), parsed.end(),
            [](const MigrationFile& a, const MigrationFile& b) {
              return a.version < b.version;
            });
  for (size_t i = 1; i < parsed.size(); ++i) {
    if (parsed[i].version == parsed[i - 1].version) {
      return absl::InvalidArgumentError(absl::StrCat(
          "migrations ", parsed[i - 1].filename, " and ", parsed[i].filename,
          " share version ", parsed[i].version));
    }
  }
  return parsed;
}

absl::StatusOr<std::vector<MigrationFile>> BuiltInMigrations() {
  std::vector<std::pair<std::string, std::string>> files;
  for (const EmbeddedMigrationFile& file : EmbeddedMigrationFiles()) {
    files.emplace_back(std::string(file.filename), std::string(file.contents));
  }
  return ParseMigrationSet(files);
}

std::vector<std::string> SplitSqlStatements(absl::string_view sql) {
  std::vector<std::string> statements;
  size_t start = 0;
  size_t i = 0;
  auto emit = [&](size_t end) {
    absl::string_view statement =
        absl::StripAsciiWhitespace(sql.substr(start, end - start));
    if (HasCode(statement)) statements.emplace_back(statement);
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '-' && sql.compare(i, 2, "--") == 0) {
      i = std::min(sql.find('\n', i), sql.size());
    } else if (c == '/' && sql.compare(i, 2, "/*") == 0) {
      i = std::min(BlockCommentEnd(sql, i), sql.size());
    } else if (c == '\'' || c == '"') {
      // E'...' strings allow backslash escapes; '' and "" double the quote.
      const bool backslash_escapes =
          c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
          (i < 2 || !(std::isalnum(static_cast<unsigned char>(sql[i - 2])) ||
                      sql[i - 2] == '_'));
      ++i;
      while (i < sql.size()) {
        if (backslash_escapes && sql[i] == '\\') {
          i += 2;
        } else if (sql[i] == c) {
          if (i + 1 < sql.size() && sql[i + 1] == c) {
            i += 2;
          } else {
            ++i;
            break;
          }
        } else {
          ++i;
        }
      }
    } else if (c == '$' && DollarTagLength(sql, i) > 0 &&
               (i == 0 ||
                !(std::isalnum(static_cast<unsigned char>(sql[i - 1])) ||
                  sql[i - 1] == '_'))) {
      const size_t tag_length = DollarTagLength(sql, i);
      const absl::string_view tag = sql.substr(i, tag_length);
      const size_t close = sql.find(tag, i + tag_length);
      i = close == absl::string_view::npos ? sql.size() : close + tag_length;
    } else if (c == ';') {
      emit(i);
      start = ++i;
    } else {
      ++i;
    }
  }
  emit(sql.size());
  return statements;
}

std::optional<std::string> ConcurrentIndexName(absl::string_view statement) {
  // Tokenise the head of the statement: words, quoted identifiers; comments
  // skipped.
  std::vector<std::string> tokens;
  std::vector<bool> quoted;
  size_t i = 0;
  while (i < statement.size() && tokens.size() < 9) {
    const char c = statement[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (statement.compare(i, 2, "--") == 0) {
      i = std::min(statement.find('\n', i), statement.size());
    } else if (statement.compare(i, 2, "/*") == 0) {
      i = std::min(BlockCommentEnd(statement, i), statement.size());
    } else if (c == '"') {
      std::string identifier;
      ++i;
      while (i < statement.size()) {
        if (statement[i] == '"' && i + 1 < statement.size() &&
            statement[i + 1] == '"') {
          identifier.push_back('"');
          i += 2;
        } else if (statement[i] == '"') {
          ++i;
          break;
        } else {
          identifier.push_back(statement[i++]);
        }
      }
      tokens.push_back(identifier);
      quoted.push_back(true);
    } else {
      size_t end = i;
      while (end < statement.size() &&
             (std::isalnum(static_cast<unsigned char>(statement[end])) ||
              statement[end] == '_' || statement[end] == '$')) {
        ++end;
      }
      if (end == i) break;  // punctuation: past the part we care about
      tokens.push_back(absl::AsciiStrToLower(statement.substr(i, end - i)));
      quoted.push_back(false);
      i = end;
    }
  }
  size_t t = 0;
  auto accept = [&](absl::string_view word) {
    if (t < tokens.size() && !quoted[t] && tokens[t] == word) {
      ++t;
      return true;
    }
    return false;
  };
  if (!accept("create")) return std::nullopt;
  accept("unique");
  if (!accept("index") || !accept("concurrently")) return std::nullopt;
  if (accept("if") && !(accept("not") && accept("exists"))) return std::nullopt;
  if (t >= tokens.size() || (!quoted[t] && tokens[t] == "on"))
    return std::nullopt;
  return tokens[t];
}

}  // namespace aves::db
