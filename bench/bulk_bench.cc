#include "bench/bulk_bench.h"

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <pqxx/pqxx>

#include "bench/pgbench.h"
#include "bench/report.h"
#include "client/lib/bulk_insert_client.h"
#include "client/lib/channel.h"
#include "server/common/status_macros.h"
#include "server/db/errors.h"
#include "tests/support/avesd_process.h"
#include "tests/support/sample_data.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace aves::bench {
namespace {

namespace v1 = data::v1;

constexpr int kUsers = 1000;

// Row i of the load: (user i % 1000, word i / 1000, counts, a time).
struct ProgressRow {
  std::string user_id, vocabulary_id;
  int correct, incorrect;
  int64_t practiced_micros;
};
ProgressRow MakeRow(int64_t i) {
  return {testing::FixtureUuid(1, i % kUsers),
          testing::FixtureUuid(2, i / kUsers), static_cast<int>(i % 50),
          static_cast<int>(i % 7), 1'700'000'000'000'000 + i * 1000};
}

std::string IsoTime(int64_t micros) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00",
                          absl::FromUnixMicros(micros), absl::UTCTimeZone());
}

constexpr char kColumns[] =
    "user_id, vocabulary_id, correct_count, incorrect_count, "
    "last_practiced_at";

}  // namespace

absl::Status RunBulkBench(const BulkBenchOptions& options) {
  const int64_t rows = options.rows;
  ASSIGN_OR_RETURN(auto database,
                   testing::TestDatabase::CreateMigrated("bench_bulk"));
  const std::string conninfo = database->conninfo();
  auto sql = database->Connect();
  RETURN_IF_ERROR(
      testing::InsertUsersAndVocabulary(*sql, kUsers, rows / kUsers + 1));
  auto reset = [&]() -> absl::Status {
    try {
      pqxx::nontransaction(*sql).exec("TRUNCATE user_progress");
      return absl::OkStatus();
    } catch (...) {
      return db::StatusFromCurrentException("truncating user_progress");
    }
  };
  // rows/s of `load` (which loads `count` rows), median of options.runs.
  auto measure = [&](int64_t count, auto load) -> absl::StatusOr<double> {
    std::vector<double> samples;
    for (int run = 0; run < options.runs; ++run) {
      RETURN_IF_ERROR(reset());
      const absl::Time start = absl::Now();
      RETURN_IF_ERROR(load());
      samples.push_back(static_cast<double>(count) /
                        absl::ToDoubleSeconds(absl::Now() - start));
      try {
        const int64_t loaded =
            pqxx::nontransaction(*sql)
                .exec1("SELECT count(*) FROM user_progress")[0]
                .as<int64_t>();
        if (loaded != count) {
          return absl::InternalError(
              absl::StrCat("loaded ", loaded, " rows, expected ", count));
        }
      } catch (...) {
        return db::StatusFromCurrentException("counting rows");
      }
    }
    return Median(samples);
  };

  // 1. Row by row: one INSERT per row, each its own transaction.
  const int64_t sample = std::min(rows, options.row_by_row_rows);
  ASSIGN_OR_RETURN(
      double row_by_row, measure(sample, [&]() -> absl::Status {
        try {
          auto connection = database->Connect();
          connection->prepare(
              "one", absl::StrCat("INSERT INTO user_progress (", kColumns,
                                  ") VALUES ($1, $2, $3, $4, $5)"));
          for (int64_t i = 0; i < sample; ++i) {
            const ProgressRow r = MakeRow(i);
            pqxx::nontransaction(*connection)
                .exec_prepared("one", r.user_id, r.vocabulary_id, r.correct,
                               r.incorrect, IsoTime(r.practiced_micros));
          }
          return absl::OkStatus();
        } catch (...) {
          return db::StatusFromCurrentException("row-by-row insert");
        }
      }));

  // 2. The seed's batchInsert: multi-row INSERTs of 100 rows (500
  // parameters), each its own transaction.
  ASSIGN_OR_RETURN(
      double batch100, measure(rows, [&]() -> absl::Status {
        try {
          auto connection = database->Connect();
          std::string values;
          for (int r = 0; r < 100; ++r) {
            absl::StrAppend(&values, r ? ", " : "", "($", r * 5 + 1, ", $",
                            r * 5 + 2, ", $", r * 5 + 3, ", $", r * 5 + 4,
                            ", $", r * 5 + 5, ")");
          }
          connection->prepare(
              "hundred", absl::StrCat("INSERT INTO user_progress (", kColumns,
                                      ") VALUES ", values));
          std::vector<std::string> params;
          for (int64_t i = 0; i < rows; i += 100) {
            params.clear();
            for (int64_t j = i; j < i + 100; ++j) {
              const ProgressRow r = MakeRow(j);
              params.push_back(r.user_id);
              params.push_back(r.vocabulary_id);
              params.push_back(std::to_string(r.correct));
              params.push_back(std::to_string(r.incorrect));
              params.push_back(IsoTime(r.practiced_micros));
            }
            pqxx::nontransaction(*connection)
                .exec_prepared("hundred",
                               pqxx::prepare::make_dynamic_params(params));
          }
          return absl::OkStatus();
        } catch (...) {
          return db::StatusFromCurrentException("batches of 100");
        }
      }));

  // 3. psql \copy from a CSV file (written once, outside the timing).
  const std::string csv = testing::MakeTempDir() + "/user_progress.csv";
  {
    std::ofstream out(csv);
    for (int64_t i = 0; i < rows; ++i) {
      const ProgressRow r = MakeRow(i);
      out << r.user_id << ',' << r.vocabulary_id << ',' << r.correct << ','
          << r.incorrect << ',' << IsoTime(r.practiced_micros) << '\n';
    }
  }
  ASSIGN_OR_RETURN(
      double psql_copy, measure(rows, [&]() -> absl::Status {
        testing::CommandResult copy = testing::RunCommand(
            {PgBinaryPath("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
             absl::StrCat("\\copy user_progress (", kColumns, ") FROM '", csv,
                          "' WITH (FORMAT csv)"),
             conninfo},
            {}, absl::Minutes(30));
        if (copy.exit_code != 0)
          return absl::InternalError("psql \\copy failed: " + copy.err);
        return absl::OkStatus();
      }));

  // 4. Streamed through avesd (its default batch size), over loopback.
  testing::AvesdProcess avesd(conninfo);
  const std::string address = avesd.Address();
  if (address.empty() ||
      !avesd.WaitForHealth(client::ServingStatus::kServing).ok()) {
    return absl::UnavailableError("avesd did not start: " +
                                  avesd.process().Stderr());
  }
  client::BulkInsertClient loader(client::MakeChannel(address));
  v1::InsertHeader header;
  header.set_table("user_progress");
  for (const char* column : {"user_id", "vocabulary_id", "correct_count",
                             "incorrect_count", "last_practiced_at"}) {
    header.add_columns(column);
  }
  header.set_mode(v1::INSERT_MODE_INSERT);
  header.set_total_rows(rows);
  header.set_batch_size(options.batch_rows);
  int load_number = 0;
  const std::function<bool(int64_t, v1::Row*)> next_row = [&](int64_t i,
                                                              v1::Row* row) {
    if (i >= rows) return false;
    const ProgressRow r = MakeRow(i);
    row->add_cells()->set_uuid_value(r.user_id);
    row->add_cells()->set_uuid_value(r.vocabulary_id);
    row->add_cells()->set_int64_value(r.correct);
    row->add_cells()->set_int64_value(r.incorrect);
    auto* time = row->add_cells()->mutable_timestamp_value();
    time->set_seconds(r.practiced_micros / 1'000'000);
    time->set_nanos(static_cast<int>(r.practiced_micros % 1'000'000) * 1000);
    return true;
  };
  ASSIGN_OR_RETURN(
      double stream, measure(rows, [&]() -> absl::Status {
        header.set_load_id(absl::StrCat("bench-", ++load_number, "-",
                                        absl::ToUnixMicros(absl::Now())));
        return loader.Load(header, next_row).status();
      }));
  // 5. The same rows as an UPSERT (temporary table, INSERT ... ON CONFLICT
  // DO UPDATE), into the emptied table as every other load.
  v1::InsertHeader upsert = header;
  upsert.set_mode(v1::INSERT_MODE_UPSERT);
  upsert.add_conflict_columns("user_id");
  upsert.add_conflict_columns("vocabulary_id");
  for (const char* column :
       {"correct_count", "incorrect_count", "last_practiced_at"}) {
    upsert.add_update_columns(column);
  }
  ASSIGN_OR_RETURN(
      double stream_upsert, measure(rows, [&]() -> absl::Status {
        upsert.set_load_id(absl::StrCat("bench-upsert-", ++load_number, "-",
                                        absl::ToUnixMicros(absl::Now())));
        return loader.Load(upsert, next_row).status();
      }));
  // avesd's peak resident set over every load above (VmHWM).
  double peak_rss_mb = 0;
  {
    std::ifstream status(
        absl::StrCat("/proc/", avesd.process().pid(), "/status"));
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmHWM:", 0) == 0)
        peak_rss_mb = std::stod(line.substr(6)) / 1024.0;
    }
  }

  Report report("bulk");
  report.Add("rows", static_cast<double>(rows), "rows");
  report.Add("row_by_row_rps", row_by_row, "rows/s");
  report.Add("batch100_rps", batch100, "rows/s");
  report.Add("psql_copy_rps", psql_copy, "rows/s");
  report.Add("stream_insert_rps", stream, "rows/s");
  report.Add("stream_upsert_rps", stream_upsert, "rows/s");
  report.Add("avesd_peak_rss_mb", peak_rss_mb, "MB");
  report.AddRatio("stream_insert_vs_psql_copy", stream / psql_copy);
  report.AddRatio("stream_insert_vs_batch100", stream / batch100);
  report.AddRatio("upsert_vs_psql_copy", stream_upsert / psql_copy);
  report.AddRatio("batch100_vs_row_by_row", batch100 / row_by_row);
  report.Add("runs_per_median", options.runs, "runs");
  auto row = [&](const std::string& path, int64_t count, double rps) {
    return std::vector<std::string>{path, std::to_string(count),
                                    FormatNumber(rps),
                                    FormatNumber(rps / psql_copy)};
  };
  report.SetTable({{"user_progress load", "rows", "rows/s", "vs psql \\copy"},
                   row("row by row (one INSERT per row)", sample, row_by_row),
                   row("multi-row INSERT, batches of 100", rows, batch100),
                   row("psql \\copy from CSV", rows, psql_copy),
                   row("avesd BulkInsertService (stream)", rows, stream),
                   row("avesd BulkInsertService UPSERT", rows, stream_upsert)});
  report.Print(std::cout, options.json);
  return absl::OkStatus();
}

}  // namespace aves::bench
