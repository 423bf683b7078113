// Running PostgreSQL's pgbench as a baseline beside our own figures.
#ifndef AVES_BENCH_PGBENCH_H_
#define AVES_BENCH_PGBENCH_H_

#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

namespace aves::bench {

// A PostgreSQL client program ($AVES_PG_BIN/NAME; PostgreSQL 15's by
// default): pgbench, psql.
std::string PgBinaryPath(const std::string& name);
inline std::string PgbenchPath() { return PgBinaryPath("pgbench"); }

// Runs `pgbench -n -M prepared -c clients -j min(clients, 2) -T seconds ARGS
// conninfo` and returns its "tps (without initial connection time)".
absl::StatusOr<double> RunPgbench(const std::string& conninfo,
                                  const std::vector<std::string>& args,
                                  int clients, absl::Duration duration);

// `pgbench -i -q -s scale`: the tables of its built-in scripts (-S).
absl::Status InitPgbench(const std::string& conninfo, int scale);

}  // namespace aves::bench

#endif  // AVES_BENCH_PGBENCH_H_
