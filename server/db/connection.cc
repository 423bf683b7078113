#include "server/db/connection.h"

#include <algorithm>
#include <regex>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>

#include "server/db/errors.h"

namespace aves::db {
namespace {

bool IsUri(absl::string_view conninfo) {
  return absl::StartsWith(conninfo, "postgresql://") ||
         absl::StartsWith(conninfo, "postgres://");
}

std::string PercentEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

// key='value' with libpq's quoting rules (backslash escapes ' and \).
std::string QuoteKeywordValue(absl::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string UriWithDatabase(absl::string_view uri, absl::string_view dbname) {
  const size_t authority_start = uri.find("://") + 3;
  const size_t query_start =
      std::min(uri.find('?', authority_start), uri.size());
  const size_t path_start =
      std::min(uri.find('/', authority_start), query_start);
  return absl::StrCat(uri.substr(0, path_start), "/", PercentEncode(dbname),
                      uri.substr(query_start));
}

std::string UriWithQueryParameter(absl::string_view uri, absl::string_view key,
                                  absl::string_view value) {
  const size_t query_start = uri.find('?');
  std::vector<std::string> params;
  if (query_start != absl::string_view::npos) {
    for (absl::string_view param :
         absl::StrSplit(uri.substr(query_start + 1), '&', absl::SkipEmpty())) {
      if (param.substr(0, param.find('=')) != key) params.emplace_back(param);
    }
  }
  params.push_back(absl::StrCat(key, "=", PercentEncode(value)));
  return absl::StrCat(uri.substr(0, query_start), "?",
                      absl::StrJoin(params, "&"));
}

}  // namespace

std::string WithConnectionParameter(absl::string_view conninfo,
                                    absl::string_view key,
                                    absl::string_view value) {
  if (IsUri(conninfo)) {
    if (key == "dbname") return UriWithDatabase(conninfo, value);
    return UriWithQueryParameter(conninfo, key, value);
  }
  // In key=value form libpq keeps the last occurrence of a keyword.
  return absl::StrCat(conninfo, conninfo.empty() ? "" : " ", key, "=",
                      QuoteKeywordValue(value));
}

std::string WithApplicationName(absl::string_view conninfo,
                                absl::string_view name) {
  return WithConnectionParameter(conninfo, "application_name", name);
}

std::string WithDatabase(absl::string_view conninfo, absl::string_view dbname) {
  return WithConnectionParameter(conninfo, "dbname", dbname);
}

std::string WithConnectTimeout(absl::string_view conninfo,
                               absl::Duration timeout) {
  return WithConnectionParameter(
      conninfo, "connect_timeout",
      absl::StrCat(std::max<int64_t>(
          2, absl::ToInt64Seconds(absl::Ceil(timeout, absl::Seconds(1))))));
}

std::string WithDeadPeerDetection(absl::string_view conninfo,
                                  absl::Duration dead_after) {
  // Probes start after a third of it and three go unanswered by its end.
  const int64_t seconds =
      std::max<int64_t>(3, absl::ToInt64Seconds(dead_after));
  std::string out = WithConnectionParameter(conninfo, "keepalives", "1");
  out = WithConnectionParameter(out, "keepalives_idle",
                                absl::StrCat(seconds / 3));
  out =
      WithConnectionParameter(out, "keepalives_interval",
                              absl::StrCat(std::max<int64_t>(1, seconds / 9)));
  out = WithConnectionParameter(out, "keepalives_count", "3");
  return WithConnectionParameter(
      out, "tcp_user_timeout",
      absl::StrCat(absl::ToInt64Milliseconds(dead_after)));
}

std::string RedactConnectionString(absl::string_view conninfo) {
  // Up to the last '@': a password may hold a raw '?', '/' or '@' (invalid
  // in a URI, but a user may type it). Hiding too much is the safe error.
  static const auto* kUriPassword =
      new std::regex(R"(^(postgres(ql)?://[^:/@?]*):.*@)");
  static const auto* kPasswordParam =
      new std::regex(R"((password\s*=\s*)('([^'\\]|\\.)*'|[^\s&]*))");
  // libpq quotes the bad token of a URI, which may be part of a password.
  static const auto* kPercentToken =
      new std::regex(R"re((invalid percent-encoded token: )"[^"]*")re");
  std::string redacted =
      std::regex_replace(std::string(conninfo), *kUriPassword, "$1:***@");
  redacted = std::regex_replace(redacted, *kPercentToken, "$1\"***\"");
  return std::regex_replace(redacted, *kPasswordParam, "$1***");
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(
    absl::string_view conninfo, absl::string_view application_name) {
  try {
    return std::make_unique<pqxx::connection>(
        WithApplicationName(conninfo, application_name));
  } catch (...) {
    absl::Status status = StatusFromCurrentException("");
    // libpq's message can quote the connection string; never echo a password.
    return absl::UnavailableError(
        absl::StrCat("database unreachable (", RedactConnectionString(conninfo),
                     "): ", RedactConnectionString(status.message())));
  }
}

}  // namespace aves::db
