#include "bench/indexes_bench.h"

#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "bench/report.h"
#include "server/common/status_macros.h"
#include "server/db/errors.h"
#include "server/db/explain.h"
#include "server/store/queries.h"
#include "tests/support/sample_data.h"
#include "tests/support/test_database.h"

namespace aves::bench {
namespace {

using Params = std::vector<std::optional<std::string>>;

constexpr char kMaxUuid[] = "ffffffff-ffff-ffff-ffff-ffffffffffff";

struct SeedQuery {
  const char* index;
  const char* label;       // what the seed's table calls it
  const char* seed_claim;  // the seed's expected speedup
  std::string sql;
  Params params;
};

std::vector<SeedQuery> SeedQueries(const testing::SampleKeys& keys) {
  return {
      {"idx_exercise_cache_lookup",
       "cache lookup",
       "10-50x",
       "SELECT * FROM exercise_cache WHERE user_id = $1 AND exercise_type = $2 "
       "AND difficulty_level = $3 AND expires_at > NOW()",
       {keys.user_id, keys.exercise_type,
        std::to_string(keys.difficulty_level)}},
      {"idx_exercise_cache_expires",
       "expired-entry cleanup batch",
       "10-20x",
       "SELECT id FROM exercise_cache WHERE expires_at <= now() ORDER BY "
       "expires_at LIMIT 1000",
       {}},
      {"idx_ai_annotations_image",
       "annotations of an image",
       "100x",
       "SELECT * FROM ai_annotation_items WHERE image_id = $1 ORDER BY "
       "confidence DESC",
       {keys.image_id}},
      {"idx_ai_annotations_status",
       "pending review queue (page of 50)",
       "50-100x",
       "SELECT * FROM ai_annotation_items WHERE status = 'pending' "
       "ORDER BY created_at DESC LIMIT 50",
       {}},
      {"idx_batch_jobs_status",
       "active jobs",
       "10-20x",
       "SELECT * FROM batch_jobs WHERE status IN ('pending', 'processing') "
       "ORDER BY created_at DESC",
       {}},
      {"idx_batch_jobs_type",
       "jobs of a type and status (page of 50)",
       "10-15x",
       "SELECT * FROM batch_jobs WHERE job_type = $1 AND status = 'failed' "
       "ORDER BY created_at DESC LIMIT 50",
       {keys.job_type}},
      {"idx_batch_job_errors_job",
       "errors of a job",
       "20-50x",
       "SELECT * FROM batch_job_errors WHERE job_id = $1 ORDER BY created_at "
       "DESC",
       {keys.job_with_errors}},
      // The service's own forms (server/store/queries.h), where they differ.
      {"idx_exercise_cache_lookup",
       "service: newest unexpired entry",
       "-",
       store::kLookupExercise.sql,
       {keys.user_id, keys.exercise_type,
        std::to_string(keys.difficulty_level)}},
      {"idx_batch_jobs_status",
       "service: active jobs, page of 50",
       "-",
       store::kListJobsByStatuses.sql,
       {"{pending,processing}", "infinity", kMaxUuid, "50"}},
      {"idx_batch_jobs_type",
       "service: failed jobs of a type, page of 50",
       "-",
       store::kListJobsByTypeAndStatuses.sql,
       {"{failed}", keys.job_type, "infinity", kMaxUuid, "50"}},
  };
}

struct Timing {
  double median_ms = 0;
  std::string top_scan;  // the scan node the plan uses on the queried table
};

// Runs the query `runs` times (after one warm-up) inside `tx`.
Timing TimeQuery(pqxx::work& tx, const SeedQuery& query, int runs) {
  Timing timing;
  auto explained =
      tx.exec_params("EXPLAIN (FORMAT JSON) " + query.sql,
                     pqxx::prepare::make_dynamic_params(query.params));
  absl::StatusOr<db::QueryPlan> plan =
      db::ParseExplainJson(explained[0][0].as<std::string>());
  if (plan.ok()) {
    // Name the index the plan uses, else its first scan.
    for (const db::PlanNode& node : plan->nodes) {
      if (!node.index_name.empty()) {
        timing.top_scan = node.node_type + " (" + node.index_name + ")";
        break;
      }
      if (timing.top_scan.empty() && !node.relation_name.empty()) {
        timing.top_scan = node.node_type;
      }
    }
  }
  std::vector<double> samples;
  for (int i = 0; i <= runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    tx.exec_params(query.sql, pqxx::prepare::make_dynamic_params(query.params));
    const std::chrono::duration<double, std::milli> elapsed =
        std::chrono::steady_clock::now() - start;
    if (i > 0) samples.push_back(elapsed.count());  // run 0 warms the cache
  }
  timing.median_ms = Median(samples);
  return timing;
}

}  // namespace

absl::Status RunIndexesBench(const IndexesBenchOptions& options) {
  ASSIGN_OR_RETURN(auto database,
                   testing::TestDatabase::CreateMigrated("bench_indexes"));
  auto connection = database->Connect();
  testing::SampleDataShape shape;
  shape.exercise_rows = shape.annotation_rows = shape.job_rows =
      shape.error_rows = options.rows;
  shape.payload_bytes = 300;
  std::cerr << "loading " << options.rows
            << " rows into each of 4 tables (bulk-load path)...\n";
  const auto load_start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(testing::SampleKeys keys,
                   testing::LoadSampleData(database->conninfo(), shape));
  std::cerr << "loaded in "
            << std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::steady_clock::now() - load_start)
                   .count()
            << " s\n";

  Report report("indexes");
  std::vector<std::vector<std::string>> table = {
      {"index", "query", "seed claim", "without ms", "with ms", "speedup",
       "plan without", "plan with"}};
  try {
    for (const SeedQuery& query : SeedQueries(keys)) {
      Timing with;
      {
        pqxx::work tx(*connection);
        with = TimeQuery(tx, query, options.runs);
        tx.abort();
      }
      Timing without;
      {
        // Dropped inside a transaction that is rolled back: the database as it
        // was before migration 009, for this query only.
        pqxx::work tx(*connection);
        tx.exec(absl::StrCat("DROP INDEX ", tx.quote_name(query.index)));
        without = TimeQuery(tx, query, options.runs);
        tx.abort();
      }
      const double speedup =
          with.median_ms > 0 ? without.median_ms / with.median_ms : 0;
      // Service forms are keyed "<index>.service".
      const std::string key = absl::StrCat(
          query.index, std::string(query.seed_claim) == "-" ? ".service" : "");
      report.Add(absl::StrCat(key, ".without_ms"), without.median_ms, "ms");
      report.Add(absl::StrCat(key, ".with_ms"), with.median_ms, "ms");
      report.AddRatio(key, speedup);
      table.push_back(
          {query.index, query.label, query.seed_claim,
           FormatNumber(without.median_ms), FormatNumber(with.median_ms),
           FormatNumber(speedup) + "x", without.top_scan, with.top_scan});
    }
  } catch (...) {
    return db::StatusFromCurrentException("indexes benchmark");
  }
  report.Add("rows_per_table", static_cast<double>(options.rows), "rows");
  report.Add("runs_per_median", options.runs, "runs");
  report.SetTable(std::move(table));
  report.Print(std::cout, options.json);
  return absl::OkStatus();
}

}  // namespace aves::bench
