# Shared set-up for scripts/run, scripts/test and scripts/bench. Source it.
# shellcheck shell=bash
AVES_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian 12 packages the build, the tests and the throwaway database need.
AVES_PACKAGES=(
  build-essential cmake pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libpqxx-dev libpq-dev libabsl-dev libspdlog-dev libfmt-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libjwt-dev libjansson-dev  # bearer tokens (server/auth)
  libcpp-httplib-dev  # the HTTP listener: /metrics, /healthz, /readyz, the dashboard
  libjs-chart.js  # the dashboard's charts, compiled into avesd
  prometheus  # promtool and a real Prometheus for the metrics tests
  postgresql-15 postgresql-client-15
  openssl  # the TLS tests make their own CA and certificates
)

# What the fuzzers add (scripts/fuzz, scripts/test): clang with its libFuzzer
# and sanitizer runtimes, and nlohmann's JSON parser as a second opinion.
AVES_FUZZ_PACKAGES=(clang libclang-rt-14-dev nlohmann-json3-dev)

aves_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Runs a command as root: directly, or through sudo.
aves_as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs whichever of AVES_PACKAGES (plus any arguments) are missing.
aves_install_packages() {
  local missing=() pkg
  for pkg in "${AVES_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  aves_log "installing ${missing[*]}"
  aves_as_root apt-get update -qq
  # --no-install-recommends keeps docker-compose from pulling in a Docker engine.
  DEBIAN_FRONTEND=noninteractive aves_as_root apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# aves_build DIR BUILD_TYPE [cmake args...]: configures once, then builds
# everything, or only the targets named in AVES_BUILD_TARGETS (scripts/run
# builds what it runs, not every test binary).
aves_build() {
  local dir=$1 type=$2
  shift 2
  export CCACHE_BASEDIR="$AVES_ROOT" CCACHE_NOHASHDIR=1
  cmake -S "$AVES_ROOT" -B "$AVES_ROOT/$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  local targets=()
  local target
  for target in ${AVES_BUILD_TARGETS:-}; do targets+=(--target "$target"); done
  cmake --build "$AVES_ROOT/$dir" -j "$(nproc)" "${targets[@]}" -- --no-print-directory
}

# The Node/TypeScript client (client/node): its npm dependencies exactly as
# package-lock.json pins them (npm ci, only when the lock changed), then
# `npm run build` (ts-proto types from proto/, then tsc). Its tests run
# under ctest (node_client_pgtest); scripts/test and scripts/bench need it,
# scripts/run does not.
aves_build_node_client() {
  local dir="$AVES_ROOT/client/node" attempt
  command -v npm >/dev/null || aves_install_packages npm
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed"; then
    for attempt in 1 2 3; do
      # Packages already in npm's cache are not fetched again; a stalled
      # download (seen: npm ci idle for minutes) is cut short and retried.
      (cd "$dir" && timeout 300 npm ci --no-audit --no-fund --silent --prefer-offline \
        --fetch-timeout=60000 >/dev/null) &&
        cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed" && break
      aves_log "npm ci in client/node failed (attempt $attempt)"
      sleep $((attempt * 5))
    done
    [ -f "$dir/node_modules/.package-lock.json.installed" ] ||
      { echo "cannot install client/node's npm dependencies" >&2; return 1; }
  fi
  (cd "$dir" && npm run --silent build)
}

# Uses DATABASE_URL when set; otherwise starts the throwaway cluster (and
# stops it again on exit, unless it was already running).
aves_start_database() {
  if [ -n "${DATABASE_URL:-}" ]; then
    aves_log "using DATABASE_URL from the environment"
    return 0
  fi
  if ! "$AVES_ROOT/scripts/pg" status >/dev/null 2>&1; then
    AVES_STOP_PG_ON_EXIT=1
  fi
  aves_log "starting the throwaway PostgreSQL (.local/pg)"
  DATABASE_URL=$("$AVES_ROOT/scripts/pg" start)
  export DATABASE_URL
  AVES_THROWAWAY_PG=1
}

aves_cleanup() {
  if [ "${AVES_STOP_PG_ON_EXIT:-0}" = 1 ]; then
    aves_log "stopping the throwaway PostgreSQL"
    "$AVES_ROOT/scripts/pg" stop || true
  fi
}

# The fuzz targets' names: fuzz/NAME_fuzz.cc.
aves_fuzz_names() {
  local source
  for source in "$AVES_ROOT"/fuzz/*_fuzz.cc; do basename "$source" _fuzz.cc; done
}

# Builds every fuzzer, or those named in AVES_BUILD_TARGETS, in build/fuzz.
aves_build_fuzzers() {
  aves_build build/fuzz Debug -DAVES_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++
}

# aves_run_fuzzer NAME SECONDS: runs NAME_fuzz for SECONDS on a scratch copy
# of fuzz/corpus/NAME (what it finds never lands in the repository) and
# prints its executions per second. A crash or a broken invariant exits
# non-zero, naming the saved input (under build/fuzz/artifacts/NAME/).
aves_run_fuzzer() {
  local name=$1 seconds=$2
  local binary="$AVES_ROOT/build/fuzz/${name}_fuzz"
  local artifacts="$AVES_ROOT/build/fuzz/artifacts/$name"
  local scratch status=0
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/aves-fuzz-$name.XXXXXX")
  mkdir -p "$scratch/corpus" "$artifacts"
  cp -R "$AVES_ROOT/fuzz/corpus/$name/." "$scratch/corpus/"
  aves_log "fuzzing $name for $seconds s"
  (
    cd "$scratch" &&
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$scratch/corpus" >"$scratch/log" 2>&1
  ) || status=$?
  local rate
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$scratch/log" | tail -1)
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$scratch/log" >&2
    local input
    input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$scratch/log" | tail -1)
    echo "scripts/fuzz: $name failed (exit $status)${input:+; the input is $input (reproduce: $binary $input)}" >&2
  else
    local runs
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/log" | tail -1)
    echo "$name: ${rate:-?} exec/s (${runs:-?} runs in $seconds s, corpus $(ls "$scratch/corpus" | wc -l) inputs)"
  fi
  rm -rf "$scratch"
  return "$status"
}
