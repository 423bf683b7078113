#include "server/observability/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include <absl/strings/numbers.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>

#include <sys/resource.h>

namespace aves::observability {
namespace {

struct ProcessStat {
  double cpu_seconds = 0;
  double start_time_seconds = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
  bool ok = false;
};

std::string ReadSmallFile(const char* path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Seconds since the epoch at which the machine booted (/proc/stat btime).
double BootTime() {
  for (absl::string_view line :
       absl::StrSplit(ReadSmallFile("/proc/stat"), '\n')) {
    if (absl::ConsumePrefix(&line, "btime ")) {
      double seconds = 0;
      if (absl::SimpleAtod(line, &seconds)) return seconds;
    }
  }
  return 0;
}

ProcessStat ReadStat() {
  ProcessStat stat;
  const std::string text = ReadSmallFile("/proc/self/stat");
  // The command name (field 2) is in parentheses and may hold spaces.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return stat;
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(text).substr(close + 1), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state): field n is fields[n - 3].
  auto field = [&](int n) {
    double value = 0;
    if (static_cast<size_t>(n - 3) < fields.size()) {
      (void)absl::SimpleAtod(fields[n - 3], &value);
    }
    return value;
  };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  stat.cpu_seconds = (field(14) + field(15)) / ticks;
  // The boot time does not change: read once.
  static const double boot_time = BootTime();
  stat.start_time_seconds = boot_time + field(22) / ticks;
  stat.virtual_bytes = field(23);
  stat.resident_bytes = field(24) * page;
  stat.ok = fields.size() >= 22;
  return stat;
}

int OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the directory's own descriptor
}

}  // namespace

void AddProcessMetrics(MetricsRegistry& registry) {
  registry.Add([](Exposition& out) {
    using Type = Exposition::Type;
    const ProcessStat stat = ReadStat();
    if (stat.ok) {
      out.Family("process_cpu_seconds_total", Type::kCounter,
                 "Total user and system CPU time spent in seconds.");
      out.Sample("process_cpu_seconds_total", {}, stat.cpu_seconds);
      out.Family("process_resident_memory_bytes", Type::kGauge,
                 "Resident memory size in bytes.");
      out.Sample("process_resident_memory_bytes", {}, stat.resident_bytes);
      out.Family("process_virtual_memory_bytes", Type::kGauge,
                 "Virtual memory size in bytes.");
      out.Sample("process_virtual_memory_bytes", {}, stat.virtual_bytes);
      out.Family("process_start_time_seconds", Type::kGauge,
                 "Start time of the process since unix epoch in seconds.");
      out.Sample("process_start_time_seconds", {}, stat.start_time_seconds);
    }
    if (const int fds = OpenFds(); fds >= 0) {
      out.Family("process_open_fds", Type::kGauge,
                 "Number of open file descriptors.");
      out.Sample("process_open_fds", {}, fds);
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      out.Family("process_max_fds", Type::kGauge,
                 "Maximum number of open file descriptors.");
      out.Sample("process_max_fds", {}, static_cast<double>(limit.rlim_cur));
    }
  });
}

void AddBuildInfo(MetricsRegistry& registry, BuildInfo info) {
  registry.Add([info = std::move(info)](Exposition& out) {
    out.Family("aves_build_info", Exposition::Type::kGauge,
               "avesd's version, commit and gRPC version; always 1.");
    out.Sample("aves_build_info",
               {{"version", info.version},
                {"git_commit", info.git_commit},
                {"grpc_version", info.grpc_version}},
               1);
  });
}

}  // namespace aves::observability
