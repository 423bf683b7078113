// load FILE: a CSV or JSON-lines file streamed through BulkInsertService,
// with a progress bar on a terminal and a summary at the end.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <absl/strings/str_split.h>
#include <absl/time/clock.h>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/lib/bulk_insert_client.h"
#include "client/lib/channel.h"
#include "client/lib/row_files.h"

namespace aves::cli {
namespace {

namespace v1 = data::v1;

// The header from the options and the file's columns; nullopt (with a
// message printed) on a bad option.
std::optional<v1::InsertHeader> HeaderOf(const CommandOptions& options,
                                         const client::RowFile& file,
                                         const std::string& path,
                                         std::vector<std::string>* columns) {
  v1::InsertHeader header;
  header.set_table(options.Get("table"));
  *columns = file.columns();
  if (options.Has("columns")) {
    *columns = absl::StrSplit(options.Get("columns"), ',', absl::SkipEmpty());
    for (const std::string& column : *columns) {
      if (std::find(file.columns().begin(), file.columns().end(), column) ==
          file.columns().end()) {
        std::cerr << "error: --columns: '" << column << "' is not in " << path
                  << "\n";
        return std::nullopt;
      }
    }
  }
  for (const std::string& column : *columns) header.add_columns(column);
  v1::InsertMode mode = v1::INSERT_MODE_INSERT;
  if (options.Has("mode") &&
      !ParseEnumOption(options.Get("mode"), "INSERT_MODE_",
                       v1::InsertMode_Parse, &mode)) {
    std::cerr << "error: --mode wants insert, upsert or returning\n";
    return std::nullopt;
  }
  header.set_mode(mode);
  for (const absl::string_view column :
       absl::StrSplit(options.Get("conflict"), ',', absl::SkipEmpty()))
    header.add_conflict_columns(std::string(column));
  for (const absl::string_view column :
       absl::StrSplit(options.Get("update"), ',', absl::SkipEmpty()))
    header.add_update_columns(std::string(column));
  if (options.Has("atomic")) {
    const std::string atomic = options.Get("atomic");
    if (atomic != "true" && atomic != "false") {
      std::cerr << "error: --atomic wants true or false\n";
      return std::nullopt;
    }
    header.set_atomic(atomic == "true");
  }
  int32_t batch_size = 0;
  if (!options.Int("batch-size", &batch_size)) return std::nullopt;
  header.set_batch_size(batch_size);
  if (options.Has("max-errors")) {
    int64_t max_errors = 0;
    if (!options.Int("max-errors", &max_errors)) return std::nullopt;
    header.set_max_errors(max_errors);
  }
  header.set_load_id(options.Has("resume") ? options.Get("resume")
                                           : options.Get("load-id"));
  const std::optional<int64_t> total = file.CountRows();
  if (total.has_value()) header.set_total_rows(*total);
  return header;
}

// "[#####     ] 50% ETA 3 s 1000 rows, 300 rows/s, 3.3 s elapsed" on stderr.
void ShowProgress(const v1::InsertProgress& progress, int64_t total,
                  absl::Time start) {
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double rate =
      seconds > 0 ? static_cast<double>(progress.committed_offset()) / seconds
                  : 0;
  std::string bar;
  if (total > 0) {
    const double done =
        std::min(1.0, static_cast<double>(progress.committed_offset()) / total);
    const int filled = static_cast<int>(done * 30);
    bar = absl::StrCat("[", std::string(filled, '#'),
                       std::string(30 - filled, ' '), "] ",
                       static_cast<int>(done * 100), "% ");
    if (rate > 0 && done < 1.0) {
      absl::StrAppend(
          &bar, "ETA ",
          static_cast<int>((total - progress.committed_offset()) / rate),
          " s ");
    }
  }
  std::fprintf(stderr, "\r%s%lld rows, %.0f rows/s, %.1f s elapsed   ",
               bar.c_str(), static_cast<long long>(progress.committed_offset()),
               rate, seconds);
  std::fflush(stderr);
}

void PrintSummary(const v1::InsertSummary& summary, const std::string& table,
                  absl::Time start) {
  const v1::InsertProgress& totals = summary.totals();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::cout << "loaded " << totals.rows_inserted() << " rows into " << table
            << " (" << totals.rows_updated() << " updated, "
            << totals.rows_failed() << " refused, "
            << totals.batches_committed() << " batches) in "
            << absl::StrFormat("%.1f", seconds) << " s, "
            << absl::StrFormat("%.0f",
                               totals.rows_inserted() / std::max(seconds, 1e-3))
            << " rows/s\nload id " << summary.load_id() << ", job "
            << summary.job_id() << ", committed offset "
            << totals.committed_offset() << "\n";
  const v1::LoadTotals& load = summary.load_totals();
  if (load.rows_inserted() != totals.rows_inserted() ||
      load.rows_updated() != totals.rows_updated() ||
      load.rows_failed() != totals.rows_failed()) {
    std::cout << "the whole load, over all its calls: " << load.rows_inserted()
              << " inserted, " << load.rows_updated() << " updated, "
              << load.rows_failed() << " refused\n";
  }
}

}  // namespace

int LoadCommand(const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  const std::string& path = invocation.words[1];
  if (!options.Only({"table", "columns", "format", "batch-size", "load-id",
                     "resume", "mode", "atomic", "conflict", "update",
                     "max-errors"}))
    return 2;
  absl::StatusOr<std::unique_ptr<client::RowFile>> file = client::RowFile::Open(
      path, options.Has("format") ? options.Get("format") : "csv");
  if (!file.ok()) return PrintError(file.status());
  std::vector<std::string> columns;
  const std::optional<v1::InsertHeader> header =
      HeaderOf(options, **file, path, &columns);
  if (!header.has_value()) return 2;

  // A progress bar only for a person watching.
  const bool terminal = isatty(STDERR_FILENO) != 0;
  const absl::Time start = absl::Now();
  client::LoadOptions load;
  load.on_progress = [&](const v1::InsertProgress& progress) {
    if (terminal) ShowProgress(progress, header->total_rows(), start);
  };
  absl::Status read_error;
  absl::StatusOr<v1::InsertSummary> summary =
      client::BulkInsertClient(ChannelOf(invocation))
          .Load(
              *header,
              [&](int64_t, v1::Row* row) {
                absl::StatusOr<bool> more = (*file)->Next(columns, row);
                if (!more.ok()) {
                  read_error = more.status();
                  return false;
                }
                return *more;
              },
              load);
  if (terminal) std::fprintf(stderr, "\n");
  if (!read_error.ok()) return PrintError(read_error);
  if (!summary.ok()) return PrintError(summary.status());
  if (invocation.json) {
    PrintJson(*summary);
  } else {
    PrintSummary(*summary, header->table(), start);
  }
  // 3: some row of the file (in this call or an earlier one) was refused.
  return summary->load_totals().rows_failed() > 0 ? 3 : 0;
}

}  // namespace aves::cli
