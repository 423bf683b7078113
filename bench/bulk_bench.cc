#include "bench/bulk_bench.h"

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/time/clock.h>
#include <pqxx/pqxx>

#include "bench/pgbench.h"
#include "bench/report.h"
#include "client/lib/bulk_insert_client.h"
#include "client/lib/channel.h"
#include "server/common/status_macros.h"
#include "server/db/errors.h"
#include "tests/support/avesd_process.h"
#include "tests/support/fixture_loader.h"
#include "tests/support/sample_data.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace aves::bench {
namespace {

namespace v1 = data::v1;
using bulk::CellValue;

constexpr int kUsers = 1000;   // user_progress row i: user i % 1000,
constexpr int kImages = 1000;  // word i / 1000; annotation i: image i % 1000
const std::string kJob = testing::FixtureUuid(5, 0);

// One table's generated rows: row i as text (for CSV and INSERT parameters)
// and as typed cells (for the stream), the same values.
struct DataSet {
  std::string table;
  std::vector<std::string> columns;
  std::function<std::vector<std::string>(int64_t)> text;
  std::function<void(int64_t, v1::Row*)> cells;
};

std::string IsoTime(int64_t micros) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00",
                          absl::FromUnixMicros(micros), absl::UTCTimeZone());
}

DataSet UserProgress() {
  auto micros = [](int64_t i) { return 1'700'000'000'000'000 + i * 1000; };
  return {
      "user_progress",
      {"user_id", "vocabulary_id", "correct_count", "incorrect_count",
       "last_practiced_at"},
      [micros](int64_t i) -> std::vector<std::string> {
        return {testing::FixtureUuid(1, i % kUsers),
                testing::FixtureUuid(2, i / kUsers), std::to_string(i % 50),
                std::to_string(i % 7), IsoTime(micros(i))};
      },
      [micros](int64_t i, v1::Row* row) {
        row->add_cells()->set_uuid_value(testing::FixtureUuid(1, i % kUsers));
        row->add_cells()->set_uuid_value(testing::FixtureUuid(2, i / kUsers));
        row->add_cells()->set_int64_value(i % 50);
        row->add_cells()->set_int64_value(i % 7);
        auto* time = row->add_cells()->mutable_timestamp_value();
        time->set_seconds(micros(i) / 1'000'000);
        time->set_nanos(static_cast<int>(micros(i) % 1'000'000) * 1000);
      }};
}

// The seed's heavier case: 10 columns, a jsonb box.
DataSet AnnotationItems() {
  auto box = [](int64_t i) {
    return absl::StrCat(R"({"x": )", i % 900, R"(, "y": )", i % 700,
                        R"(, "width": 80, "height": 60})");
  };
  return {
      "ai_annotation_items",
      {"id", "job_id", "image_id", "spanish_term", "english_term",
       "bounding_box", "annotation_type", "difficulty_level", "confidence",
       "status"},
      [box](int64_t i) -> std::vector<std::string> {
        return {testing::FixtureUuid(3, i),
                kJob,
                testing::FixtureUuid(4, i % kImages),
                absl::StrCat("el pico ", i % 500),
                absl::StrCat("beak ", i % 500),
                box(i),
                "anatomical",
                std::to_string(1 + i % 5),
                absl::StrCat((i % 100) / 100.0),
                "pending"};
      },
      [box](int64_t i, v1::Row* row) {
        row->add_cells()->set_uuid_value(testing::FixtureUuid(3, i));
        row->add_cells()->set_uuid_value(kJob);
        row->add_cells()->set_uuid_value(testing::FixtureUuid(4, i % kImages));
        row->add_cells()->set_string_value(absl::StrCat("el pico ", i % 500));
        row->add_cells()->set_string_value(absl::StrCat("beak ", i % 500));
        row->add_cells()->set_json_value(box(i));
        row->add_cells()->set_string_value("anatomical");
        row->add_cells()->set_int64_value(1 + i % 5);
        row->add_cells()->set_double_value((i % 100) / 100.0);
        row->add_cells()->set_string_value("pending");
      }};
}

// RFC 4180: quoted when it holds a comma, a quote or a line break.
std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// avesd's resident memory now and at its peak (VmRSS, VmHWM), MB.
std::pair<double, double> AvesdRssMb(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  double now = 0, peak = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) now = std::stod(line.substr(6)) / 1024;
    if (line.rfind("VmHWM:", 0) == 0) peak = std::stod(line.substr(6)) / 1024;
  }
  return {now, peak};
}

class BulkBench {
 public:
  BulkBench(const BulkBenchOptions& options, testing::TestDatabase& database,
            client::BulkInsertClient& loader)
      : options_(options),
        database_(database),
        sql_(database.Connect()),
        loader_(loader) {}

  // rows/s of `load` (which loads `count` rows into an emptied table),
  // median of options.runs; checks the table holds `count` rows after.
  absl::StatusOr<double> Measure(const DataSet& data, int64_t count,
                                 const std::function<absl::Status()>& load,
                                 int runs) {
    std::vector<double> samples;
    for (int run = 0; run < runs; ++run) {
      RETURN_IF_ERROR(Empty(data));
      const absl::Time start = absl::Now();
      RETURN_IF_ERROR(load());
      samples.push_back(static_cast<double>(count) /
                        absl::ToDoubleSeconds(absl::Now() - start));
      ASSIGN_OR_RETURN(int64_t loaded, Count(data));
      if (loaded != count) {
        return absl::InternalError(absl::StrCat(data.table, ": loaded ", loaded,
                                                " rows, expected ", count));
      }
    }
    return Median(samples);
  }

  // 1. One INSERT per row, each its own transaction.
  absl::Status RowByRow(const DataSet& data, int64_t count) {
    try {
      auto connection = database_.Connect();
      std::vector<std::string> params;
      for (size_t c = 1; c <= data.columns.size(); ++c)
        params.push_back(absl::StrCat("$", c));
      connection->prepare(
          "one", absl::StrCat("INSERT INTO ", data.table, " (",
                              absl::StrJoin(data.columns, ", "), ") VALUES (",
                              absl::StrJoin(params, ", "), ")"));
      for (int64_t i = 0; i < count; ++i) {
        pqxx::nontransaction(*connection)
            .exec_prepared("one",
                           pqxx::prepare::make_dynamic_params(data.text(i)));
      }
      return absl::OkStatus();
    } catch (...) {
      return db::StatusFromCurrentException("row-by-row insert");
    }
  }

  // 2. The seed's batchInsert: multi-row INSERTs of 100 rows, each its own
  // transaction.
  absl::Status Batch100(const DataSet& data, int64_t count) {
    try {
      auto connection = database_.Connect();
      const size_t width = data.columns.size();
      std::vector<std::string> tuples;
      for (size_t r = 0; r < 100; ++r) {
        std::vector<std::string> params;
        for (size_t c = 1; c <= width; ++c)
          params.push_back(absl::StrCat("$", r * width + c));
        tuples.push_back("(" + absl::StrJoin(params, ", ") + ")");
      }
      connection->prepare(
          "hundred", absl::StrCat("INSERT INTO ", data.table, " (",
                                  absl::StrJoin(data.columns, ", "),
                                  ") VALUES ", absl::StrJoin(tuples, ", ")));
      std::vector<std::string> params;
      for (int64_t i = 0; i < count; i += 100) {
        params.clear();
        for (int64_t j = i; j < i + 100; ++j) {
          for (std::string& value : data.text(j))
            params.push_back(std::move(value));
        }
        pqxx::nontransaction(*connection)
            .exec_prepared("hundred",
                           pqxx::prepare::make_dynamic_params(params));
      }
      return absl::OkStatus();
    } catch (...) {
      return db::StatusFromCurrentException("batches of 100");
    }
  }

  // 3. psql \copy from a CSV file (written before, outside the timing).
  absl::StatusOr<std::string> WriteCsv(const DataSet& data, int64_t count) {
    const std::string path =
        absl::StrCat(testing::MakeTempDir(), "/", data.table, ".csv");
    std::ofstream out(path);
    for (int64_t i = 0; i < count; ++i) {
      std::vector<std::string> fields;
      for (const std::string& value : data.text(i))
        fields.push_back(CsvField(value));
      out << absl::StrJoin(fields, ",") << '\n';
    }
    if (!out.flush()) return absl::InternalError("cannot write " + path);
    return path;
  }
  absl::Status PsqlCopy(const DataSet& data, const std::string& csv) {
    testing::CommandResult copy = testing::RunCommand(
        {PgBinaryPath("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
         absl::StrCat("\\copy ", data.table, " (",
                      absl::StrJoin(data.columns, ", "), ") FROM '", csv,
                      "' WITH (FORMAT csv)"),
         database_.conninfo()},
        {}, absl::Minutes(60));
    if (copy.exit_code != 0)
      return absl::InternalError("psql \\copy failed: " + copy.err);
    return absl::OkStatus();
  }

  // 4. Streamed through avesd over loopback, in `mode`.
  absl::Status Stream(const DataSet& data, int64_t count, v1::InsertMode mode) {
    v1::InsertHeader header;
    header.set_table(data.table);
    for (const std::string& column : data.columns) header.add_columns(column);
    header.set_mode(mode);
    header.set_total_rows(count);
    header.set_batch_size(options_.batch_rows);
    header.set_load_id(absl::StrCat("bench-", data.table, "-", ++loads_, "-",
                                    absl::ToUnixMicros(absl::Now())));
    if (mode == v1::INSERT_MODE_UPSERT) {
      // user_progress: the learner and word meet; the counts are updated.
      header.add_conflict_columns("user_id");
      header.add_conflict_columns("vocabulary_id");
      for (const char* column :
           {"correct_count", "incorrect_count", "last_practiced_at"}) {
        header.add_update_columns(column);
      }
    }
    int64_t returned = 0;
    client::LoadOptions load_options;
    if (mode == v1::INSERT_MODE_RETURNING) {
      header.add_returning_columns("user_id");
      header.add_returning_columns("vocabulary_id");
      load_options.on_returned = [&](const v1::ReturnedRows& rows) {
        returned += rows.rows_size();
      };
    }
    ASSIGN_OR_RETURN(v1::InsertSummary summary,
                     loader_.Load(
                         header,
                         [&](int64_t i, v1::Row* row) {
                           if (i >= count) return false;
                           data.cells(i, row);
                           return true;
                         },
                         load_options));
    if (summary.totals().rows_failed() != 0) {
      return absl::InternalError(absl::StrCat(
          data.table, ": ", summary.totals().rows_failed(), " rows refused"));
    }
    if (mode == v1::INSERT_MODE_RETURNING && returned != count) {
      return absl::InternalError(
          absl::StrCat("RETURNING sent back ", returned, " of ", count));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Empty(const DataSet& data) {
    try {
      pqxx::nontransaction(*sql_).exec("TRUNCATE " + data.table);
      return absl::OkStatus();
    } catch (...) {
      return db::StatusFromCurrentException("emptying " + data.table);
    }
  }
  absl::StatusOr<int64_t> Count(const DataSet& data) {
    try {
      return pqxx::nontransaction(*sql_)
          .exec1("SELECT count(*) FROM " + data.table)[0]
          .as<int64_t>();
    } catch (...) {
      return db::StatusFromCurrentException("counting " + data.table);
    }
  }

  const BulkBenchOptions& options_;
  testing::TestDatabase& database_;
  std::unique_ptr<pqxx::connection> sql_;
  client::BulkInsertClient& loader_;
  int loads_ = 0;
};

// rows/s per method for one data set and size; 0: not measured.
struct Figures {
  double row_by_row = 0, batch100 = 0, psql_copy = 0, stream = 0, upsert = 0,
         returning = 0;
};

}  // namespace

absl::Status RunBulkBench(const BulkBenchOptions& options) {
  ASSIGN_OR_RETURN(auto database,
                   testing::TestDatabase::CreateMigrated("bench_bulk"));
  const int64_t most_progress_rows =
      std::max({options.rows, options.large_rows, options.rss_rows});
  std::cerr << "preparing users, words, images...\n";
  RETURN_IF_ERROR(testing::InsertUsersAndVocabulary(
      database->conninfo(), kUsers, most_progress_rows / kUsers + 1));
  {
    ASSIGN_OR_RETURN(auto fixtures,
                     testing::FixtureLoader::Create(database->conninfo()));
    RETURN_IF_ERROR(fixtures->Begin("images", {"id", "url"}));
    for (int i = 0; i < kImages; ++i) {
      RETURN_IF_ERROR(fixtures->Add(
          {CellValue::Uuid(testing::FixtureUuid(4, i)),
           CellValue::String(absl::StrCat("https://img.example/", i))}));
    }
    RETURN_IF_ERROR(fixtures->End());
    RETURN_IF_ERROR(fixtures->Begin("batch_jobs", {"id", "job_type"}));
    RETURN_IF_ERROR(fixtures->Add(
        {CellValue::Uuid(kJob), CellValue::String("ai_annotation")}));
    RETURN_IF_ERROR(fixtures->End());
  }

  testing::AvesdProcess avesd(database->conninfo());
  const std::string address = avesd.Address();
  if (address.empty() ||
      !avesd.WaitForHealth(client::ServingStatus::kServing).ok()) {
    return absl::UnavailableError("avesd did not start: " +
                                  avesd.process().Stderr());
  }
  client::BulkInsertClient loader(client::MakeChannel(address));
  BulkBench bench(options, *database, loader);
  const int runs = options.runs;

  // Every method on `data` at `count` rows; `all_modes` adds upsert and
  // returning, `row_by_row` the (sampled) row-by-row baseline.
  auto measure_set = [&](const DataSet& data, int64_t count, bool row_by_row,
                         bool all_modes) -> absl::StatusOr<Figures> {
    std::cerr << data.table << ", " << count << " rows...\n";
    Figures f;
    if (row_by_row) {
      const int64_t sample = std::min(count, options.row_by_row_rows);
      ASSIGN_OR_RETURN(f.row_by_row,
                       bench.Measure(
                           data, sample,
                           [&] { return bench.RowByRow(data, sample); }, runs));
    }
    ASSIGN_OR_RETURN(
        f.batch100,
        bench.Measure(
            data, count, [&] { return bench.Batch100(data, count); }, runs));
    ASSIGN_OR_RETURN(std::string csv, bench.WriteCsv(data, count));
    ASSIGN_OR_RETURN(
        f.psql_copy,
        bench.Measure(
            data, count, [&] { return bench.PsqlCopy(data, csv); }, runs));
    std::remove(csv.c_str());
    ASSIGN_OR_RETURN(
        f.stream,
        bench.Measure(
            data, count,
            [&] { return bench.Stream(data, count, v1::INSERT_MODE_INSERT); },
            runs));
    if (all_modes) {
      ASSIGN_OR_RETURN(
          f.upsert,
          bench.Measure(
              data, count,
              [&] { return bench.Stream(data, count, v1::INSERT_MODE_UPSERT); },
              runs));
      ASSIGN_OR_RETURN(f.returning, bench.Measure(
                                        data, count,
                                        [&] {
                                          return bench.Stream(
                                              data, count,
                                              v1::INSERT_MODE_RETURNING);
                                        },
                                        runs));
    }
    return f;
  };

  const DataSet progress = UserProgress();
  const DataSet annotations = AnnotationItems();
  ASSIGN_OR_RETURN(Figures small,
                   measure_set(progress, options.rows, true, true));
  Figures large, annotated;
  if (options.large_rows > 0) {
    ASSIGN_OR_RETURN(large,
                     measure_set(progress, options.large_rows, false, true));
  }
  if (options.annotation_rows > 0) {
    ASSIGN_OR_RETURN(
        annotated,
        measure_set(annotations, options.annotation_rows, true, false));
  }

  // The memory load: avesd's resident set sampled while it streams
  // rss_rows rows.
  const double rss_before_mb = AvesdRssMb(avesd.process().pid()).first;
  double rss_load_peak_mb = 0, rss_load_rps = 0;
  if (options.rss_rows > 0) {
    std::cerr << "user_progress, " << options.rss_rows
              << " rows through avesd (memory)...\n";
    std::atomic<bool> loading{true};
    std::thread sampler([&] {
      while (loading) {
        rss_load_peak_mb =
            std::max(rss_load_peak_mb, AvesdRssMb(avesd.process().pid()).first);
        absl::SleepFor(absl::Milliseconds(200));
      }
    });
    absl::StatusOr<double> rps = bench.Measure(
        progress, options.rss_rows,
        [&] {
          return bench.Stream(progress, options.rss_rows,
                              v1::INSERT_MODE_INSERT);
        },
        1);
    loading = false;
    sampler.join();
    RETURN_IF_ERROR(rps.status());
    rss_load_rps = *rps;
  }
  const double peak_rss_mb = AvesdRssMb(avesd.process().pid()).second;

  Report report("bulk");
  auto add_set = [&](const std::string& prefix, int64_t count,
                     const Figures& f) {
    report.Add(prefix + "rows", static_cast<double>(count), "rows");
    auto add = [&](const std::string& name, double value) {
      if (value > 0) report.Add(prefix + name, value, "rows/s");
    };
    add("row_by_row_rps", f.row_by_row);
    add("batch100_rps", f.batch100);
    add("psql_copy_rps", f.psql_copy);
    add("stream_insert_rps", f.stream);
    add("stream_upsert_rps", f.upsert);
    add("stream_returning_rps", f.returning);
    report.AddRatio(prefix + "stream_insert_vs_psql_copy",
                    f.stream / f.psql_copy);
    report.AddRatio(prefix + "stream_insert_vs_batch100",
                    f.stream / f.batch100);
    if (f.upsert > 0)
      report.AddRatio(prefix + "upsert_vs_psql_copy", f.upsert / f.psql_copy);
    if (f.returning > 0) {
      report.AddRatio(prefix + "returning_vs_psql_copy",
                      f.returning / f.psql_copy);
    }
    if (f.row_by_row > 0) {
      report.AddRatio(prefix + "batch100_vs_row_by_row",
                      f.batch100 / f.row_by_row);
    }
  };
  add_set("", options.rows, small);  // the issue's headline names
  if (options.large_rows > 0) add_set("large_", options.large_rows, large);
  if (options.annotation_rows > 0)
    add_set("annotations_", options.annotation_rows, annotated);
  if (options.rss_rows > 0) {
    report.Add("rss_load_rows", static_cast<double>(options.rss_rows), "rows");
    report.Add("rss_load_rps", rss_load_rps, "rows/s");
    report.Add("avesd_rss_before_rss_load_mb", rss_before_mb, "MB");
    report.Add("avesd_rss_during_rss_load_max_mb", rss_load_peak_mb, "MB");
  }
  report.Add("avesd_peak_rss_mb", peak_rss_mb, "MB");
  if (options.rss_rows > 0) {
    report.AddNote(absl::StrCat(
        "memory load: ", options.rss_rows,
        " user_progress rows through avesd at ", FormatNumber(rss_load_rps),
        " rows/s; avesd resident ", FormatNumber(rss_before_mb),
        " MB before, at most ", FormatNumber(rss_load_peak_mb),
        " MB while loading (sampled every 200 ms)"));
  }
  report.AddNote(absl::StrCat("avesd peak resident memory (VmHWM, whole run): ",
                              FormatNumber(peak_rss_mb), " MB"));
  report.Add("runs_per_median", runs, "runs");

  std::vector<std::vector<std::string>> table = {
      {"load", "rows", "rows/s", "vs psql \\copy", "vs batches of 100"}};
  auto add_rows = [&](const std::string& name, int64_t count,
                      const Figures& f) {
    auto line = [&](const std::string& method, int64_t rows, double rps) {
      if (rps > 0) {
        table.push_back({name + ": " + method, std::to_string(rows),
                         FormatNumber(rps), FormatNumber(rps / f.psql_copy),
                         FormatNumber(rps / f.batch100)});
      }
    };
    line("row by row (one INSERT per row)",
         std::min(count, options.row_by_row_rows), f.row_by_row);
    line("multi-row INSERT, batches of 100", count, f.batch100);
    line("psql \\copy from CSV", count, f.psql_copy);
    line("avesd stream, INSERT", count, f.stream);
    line("avesd stream, UPSERT", count, f.upsert);
    line("avesd stream, RETURNING", count, f.returning);
  };
  add_rows(progress.table, options.rows, small);
  if (options.large_rows > 0)
    add_rows(progress.table, options.large_rows, large);
  if (options.annotation_rows > 0)
    add_rows(annotations.table, options.annotation_rows, annotated);
  report.SetTable(std::move(table));
  report.Print(std::cout, options.json);
  return absl::OkStatus();
}

}  // namespace aves::bench
