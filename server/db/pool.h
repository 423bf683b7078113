// Pool: a bounded set of database connections lent to callers, one caller at
// a time per connection. It knows nothing of pqxx: connections come from a
// Connector and are used through the PooledConnection interface, so the pool's
// logic is unit-tested with fakes (under ThreadSanitizer) and pg_connection.h
// supplies the real thing.
//
// Behaviour (README "Connection pool" has the operator's view):
//  - Acquire is FIFO within a class: a released connection goes straight to
//    the oldest interactive waiter, or else to the oldest bulk one
//    (CallContext::bulk). Bulk leases do not count against min_connections:
//    the pool keeps that many open beside them, so a lookup arriving during
//    big loads finds a connection ready instead of waiting for one to open
//    (how many bulk work holds is bounded by its own executor, app/sizing.h).
//    Nor does bulk work take a connection that would leave fewer than
//    interactive_reserve open for the rest (idle or lent to interactive
//    calls): it waits for the connector to open one for it, or for one to
//    come back.
//    Past max_waiters a caller is refused at once (RESOURCE_EXHAUSTED);
//    a waiter gives up at its deadline (DEADLINE_EXCEEDED) or, before it, at
//    acquire_timeout (RESOURCE_EXHAUSTED: the service is saturated).
//  - One connector thread opens connections (to min_connections, and on demand
//    up to max_connections); failures back off with full jitter. While the
//    database is unreachable and nothing idle is left, callers get UNAVAILABLE
//    at once, saying the database is unreachable.
//  - Idle connections are checked cheaply (PooledConnection::LooksAlive) before
//    being lent; connections that failed are discarded, never lent again; a
//    connection-loss failure retires every idle connection opened before it
//    (a server restart kills them all). Idle connections above the minimum
//    close after idle_timeout; any connection past its (jittered) lifetime is
//    replaced.
//  - A watchdog thread cancels calls whose deadline passed or whose caller
//    cancelled (each cancel on a thread of its own: libpq's never times
//    out), aborts calls that ignore the cancel (shutting their socket down),
//    and warns about leases held longer than lease_warn. A connection that
//    received a cancel is discarded when returned: a late cancel must never hit
//    the next query.
#ifndef AVES_SERVER_DB_POOL_H_
#define AVES_SERVER_DB_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/common/call_context.h"
#include "server/db/pool_options.h"
#include "server/observability/latency_histogram.h"
#include "server/observability/rate_window.h"

namespace aves::db {

// A connection as the pool sees it.
class PooledConnection {
 public:
  virtual ~PooledConnection() = default;
  // A cheap check that the server has not closed the connection (no round
  // trip).
  virtual bool LooksAlive() = 0;
  // Asks the server to cancel the running query. Called from the watchdog
  // thread while another thread uses the connection: must be thread-safe.
  virtual void Cancel() = 0;
  // Makes a call that ignored its cancel fail now (shuts the socket down).
  // Thread-safe like Cancel.
  virtual void Abort() = 0;
};

// Opens connections for the pool.
class Connector {
 public:
  virtual ~Connector() = default;
  virtual absl::StatusOr<std::unique_ptr<PooledConnection>> Connect() = 0;
};

// Why a connection left the pool.
enum class DiscardReason {
  kBroken,       // a call failed with a connection-loss error
  kFailedCheck,  // LooksAlive() said no before lending
  kRetired,      // opened before a server restart/crash was seen
  kCancelled,    // received a cancel (or abort)
  kIdleTimeout,  // idle above the minimum for too long
  kMaxLifetime,  // older than its lifetime
  kShutdown,     // the pool is shutting down
  kCount,
};
const char* DiscardReasonName(DiscardReason reason);

struct PoolStats {
  int total = 0, idle = 0, in_use = 0, opening = 0, waiting = 0;
  int min = 0, max = 0;
  absl::Duration oldest_waiter_age;
  bool database_reachable = true;
  std::string last_connect_error;
  int64_t opened = 0, connect_failures = 0, closed = 0;
  std::map<std::string, int64_t> discarded;  // by DiscardReason name
  int64_t acquired = 0, acquire_timeouts = 0, rejected_full = 0,
          rejected_unavailable = 0;
  int64_t cancels = 0, aborts = 0, lease_warnings = 0;
  std::map<std::string, int64_t> errors;  // by status code name
  int64_t errors_last_minute = 0;
  observability::LatencySummary acquire_wait, query_time;
  // The same since start, as Prometheus histograms (latency buckets).
  observability::HistogramSnapshot acquire_wait_seconds, use_time_seconds;
};

class Pool;

// A lent connection. Returns it to the pool when destroyed (RAII).
class Lease {
 public:
  Lease() = default;
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  ~Lease();

  PooledConnection& connection() const;
  // The connection failed (or must not be reused): discard instead of
  // returning.
  void Discard(DiscardReason reason);
  // While lent, the connection is watched: the watchdog cancels its query at
  // deadline() = min(caller's deadline, lent + DB_QUERY_TIMEOUT or the
  // context's own query_timeout), or when the
  // caller's context.cancelled() turns true.
  absl::Time deadline() const;
  // True once the watchdog sent a cancel: the connection is then discarded
  // on release (the cancel may still be in flight).
  bool cancel_issued() const;
  // The outcome of the work done on this lease, recorded in the statistics
  // (query time, errors by code) on release.
  void RecordOutcome(absl::Duration elapsed, absl::Status status);
  // Opaque id of the connection (stable for its life); for tests and logs.
  uint64_t connection_id() const;
  explicit operator bool() const { return pool_ != nullptr; }

 private:
  friend class Pool;
  struct Slot;
  Lease(Pool* pool, std::shared_ptr<Slot> slot)
      : pool_(pool), slot_(std::move(slot)) {}
  void Release();
  Pool* pool_ = nullptr;
  std::shared_ptr<Slot> slot_;
};

class Pool {
 public:
  Pool(PoolOptions options, std::unique_ptr<Connector> connector);
  ~Pool();  // stops threads and closes every connection; no lease may outlive
            // it

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Starts the connector and watchdog threads; returns at once.
  void Start();
  // Waits up to `timeout` until min_connections are open (or an attempt to
  // open one failed); true when they are open.
  bool WaitUntilReady(absl::Duration timeout);
  // The database is reachable and min_connections have been open together
  // since the last failed connection attempt (a connection being replaced
  // does not make the pool unready).
  bool Ready() const;

  // Lends a connection (see the header comment for the rules).
  absl::StatusOr<Lease> Acquire(const common::CallContext& context);

  PoolStats Stats() const;
  const PoolOptions& options() const { return options_; }

 private:
  friend class Lease;
  struct Waiter;
  using SlotPtr = std::shared_ptr<Lease::Slot>;

  void Release(const SlotPtr& slot);
  void DiscardLocked(const SlotPtr& slot, DiscardReason reason);
  // Marks `slot` lent for `context` (in_use_, watch fields, counters).
  void LendLocked(const SlotPtr& slot, const common::CallContext& context,
                  absl::Time now);
  // Hands `slot` to the next waiter, or parks it idle.
  void LendOrParkLocked(const SlotPtr& slot, absl::Time now);
  // The oldest interactive waiter, else the oldest; end() when none.
  std::deque<Waiter*>::iterator NextWaiterLocked();
  // A caller of `context`'s class would pass someone already waiting.
  bool WaitersAheadLocked(const common::CallContext& context) const;
  // An idle connection is there for a caller of `context`'s class (bulk
  // work leaves interactive_reserve of them).
  bool IdleFreeForLocked(const common::CallContext& context) const;
  // Open connections not lent to bulk work: idle, or lent to interactive
  // calls.
  int OpenNotBulkLocked() const;
  bool ReadyLocked() const;
  bool UsableLocked(const SlotPtr& slot, absl::Time now, DiscardReason* reason);
  int WantedConnectionsLocked() const;
  void FailWaitersLocked(const absl::Status& status);
  void RecordErrorLocked(const absl::Status& status, absl::Time now);
  void ConnectorLoop();
  void WatchdogLoop();
  void MaintainLocked(absl::Time now);
  absl::Duration NextBackoffLocked();

  const PoolOptions options_;
  const std::unique_ptr<Connector> connector_;

  mutable std::mutex mutex_;
  std::condition_variable connector_wakeup_;
  std::condition_variable watchdog_wakeup_;
  std::condition_variable ready_changed_;
  bool stopping_ = false;
  bool watchdog_idle_ = true;  // the watchdog is in its long (no calls) sleep
  std::vector<SlotPtr> idle_;  // most recently used at the back (lent first)
  std::vector<SlotPtr> in_use_;
  std::deque<Waiter*> waiters_;  // FIFO (see NextWaiterLocked)
  int bulk_in_use_ = 0;          // leases lent to bulk work
  int opening_ = 0;
  uint64_t next_connection_id_ = 1;
  // Connection loss seen at this time: idle connections opened before it go.
  absl::Time retire_before_ = absl::InfinitePast();
  bool reachable_ = true;
  // DB_POOL_MIN connections were open at once since the last failed connect:
  // "ready" does not flap while a discarded connection is being replaced.
  bool warmed_ = false;
  std::string last_connect_error_;   // libpq's text, for the log only
  std::string last_connect_reason_;  // ConnectFailureReason: for callers
  int consecutive_failures_ = 0;
  absl::Time next_connect_attempt_ = absl::InfinitePast();
  std::mt19937_64 random_{std::random_device{}()};

  // Statistics.
  int64_t opened_ = 0, connect_failures_ = 0, closed_ = 0;
  int64_t discarded_[static_cast<int>(DiscardReason::kCount)] = {};
  int64_t acquired_ = 0, acquire_timeouts_ = 0, rejected_full_ = 0,
          rejected_unavailable_ = 0;
  int64_t cancels_ = 0, aborts_ = 0, lease_warnings_ = 0;
  std::map<std::string, int64_t> errors_;
  mutable observability::RateWindow
      error_window_;  // CountAt() advances the window
  absl::Time last_error_rate_warning_ = absl::InfinitePast();
  observability::LatencyHistogram acquire_wait_, query_time_;

  std::thread connector_thread_;
  std::thread watchdog_thread_;
  // Cancels being sent (each on a detached thread that owns what it uses).
  static constexpr int kMaxCancelsInFlight = 4;
  std::shared_ptr<std::atomic<int>> cancels_in_flight_ =
      std::make_shared<std::atomic<int>>(0);
};

}  // namespace aves::db

#endif  // AVES_SERVER_DB_POOL_H_
