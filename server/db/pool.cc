#include "server/db/pool.h"

#include <algorithm>
#include <optional>
#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "server/db/connect_failure.h"
#include "server/observability/logging.h"

namespace aves::db {

// One connection and what the pool knows about it. Guarded by Pool::mutex_,
// except `connection`, which its lease holder (and the watchdog, for
// Cancel/Abort only) use without the lock.
struct Lease::Slot {
  std::unique_ptr<PooledConnection> connection;
  uint64_t id = 0;
  absl::Time opened_at, idle_since, expires_at;
  // While lent:
  absl::Time lent_at;
  std::string holder;
  bool lease_warned = false;
  bool bulk = false;  // lent to bulk work (counted in bulk_in_use_)
  bool discard = false;
  DiscardReason discard_reason = DiscardReason::kBroken;
  // While a watched call runs:
  // The watch on a lent connection: from Acquire to release.
  absl::Time call_deadline;
  std::function<bool()> cancelled;
  // Set by the watchdog under the lock; read lock-free by the lease holder.
  std::atomic<bool> cancel_issued{false};
  absl::Time cancel_issued_at;
  bool aborted = false;
  // The outcome of the lease's database work, written by the holder (no lock)
  // and recorded in the statistics on release.
  bool has_outcome = false;
  absl::Duration outcome_elapsed;
  absl::Status outcome_status;
};

struct Pool::Waiter {
  std::condition_variable wakeup;
  const common::CallContext* context = nullptr;
  SlotPtr slot;
  absl::Status failure;
  bool done = false;
  absl::Time since;
};

namespace {

std::chrono::system_clock::time_point ToChrono(absl::Time time) {
  // absl::ToChronoTime saturates the infinite times; keep far futures sane.
  return absl::ToChronoTime(
      std::min(time, absl::Now() + absl::Hours(24 * 365)));
}

std::shared_ptr<spdlog::logger> Log() { return observability::Logger("pool"); }

}  // namespace

const char* DiscardReasonName(DiscardReason reason) {
  switch (reason) {
    case DiscardReason::kBroken:
      return "broken";
    case DiscardReason::kFailedCheck:
      return "failed_check";
    case DiscardReason::kRetired:
      return "retired_after_server_restart";
    case DiscardReason::kCancelled:
      return "cancelled";
    case DiscardReason::kIdleTimeout:
      return "idle_timeout";
    case DiscardReason::kMaxLifetime:
      return "max_lifetime";
    case DiscardReason::kShutdown:
      return "shutdown";
    case DiscardReason::kCount:
      break;
  }
  return "unknown";
}

// ---------------------------------------------------------------- Lease

Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      slot_(std::move(other.slot_)) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::exchange(other.pool_, nullptr);
    slot_ = std::move(other.slot_);
  }
  return *this;
}

Lease::~Lease() { Release(); }

void Lease::Release() {
  if (pool_ == nullptr) return;
  pool_->Release(slot_);
  pool_ = nullptr;
  slot_.reset();
}

PooledConnection& Lease::connection() const { return *slot_->connection; }

uint64_t Lease::connection_id() const { return slot_->id; }

void Lease::Discard(DiscardReason reason) {
  std::lock_guard<std::mutex> lock(pool_->mutex_);
  slot_->discard = true;
  slot_->discard_reason = reason;
}

absl::Time Lease::deadline() const { return slot_->call_deadline; }

bool Lease::cancel_issued() const { return slot_->cancel_issued.load(); }

void Lease::RecordOutcome(absl::Duration elapsed, absl::Status status) {
  slot_->has_outcome = true;
  slot_->outcome_elapsed = elapsed;
  slot_->outcome_status = std::move(status);
}

// ---------------------------------------------------------------- Pool

Pool::Pool(PoolOptions options, std::unique_ptr<Connector> connector)
    : options_(std::move(options)), connector_(std::move(connector)) {}

Pool::~Pool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    FailWaitersLocked(
        absl::UnavailableError("the connection pool is shutting down"));
  }
  connector_wakeup_.notify_all();
  watchdog_wakeup_.notify_all();
  ready_changed_.notify_all();
  if (connector_thread_.joinable()) connector_thread_.join();
  if (watchdog_thread_.joinable()) watchdog_thread_.join();
  // Cancels still being sent normally end within milliseconds; one to a
  // server that stopped answering is left behind after 2 s (its thread owns
  // what it uses).
  for (int i = 0; i < 200 && cancels_in_flight_->load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (const SlotPtr& slot : idle_)
    DiscardLocked(slot, DiscardReason::kShutdown);
  idle_.clear();
}

void Pool::Start() {
  connector_thread_ = std::thread([this] { ConnectorLoop(); });
  watchdog_thread_ = std::thread([this] { WatchdogLoop(); });
}

bool Pool::ReadyLocked() const {
  return reachable_ && (warmed_ || options_.min_connections == 0);
}

bool Pool::Ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ReadyLocked();
}

bool Pool::WaitUntilReady(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Also stop waiting once a connection attempt failed: no use waiting then.
  ready_changed_.wait_until(lock, ToChrono(absl::Now() + timeout), [&] {
    return stopping_ || !reachable_ || ReadyLocked();
  });
  return !stopping_ && ReadyLocked();
}

absl::StatusOr<Lease> Pool::Acquire(const common::CallContext& context) {
  const absl::Time start = absl::Now();
  const absl::Time give_up =
      std::min(start + options_.acquire_timeout, context.deadline);
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_)
    return absl::UnavailableError("the connection pool is shutting down");

  SlotPtr slot;
  // FIFO: idle connections go to queued waiters first, never past them.
  while (!WaitersAheadLocked(context) && IdleFreeForLocked(context) &&
         slot == nullptr) {
    SlotPtr candidate = idle_.back();
    idle_.pop_back();
    DiscardReason reason;
    if (UsableLocked(candidate, start, &reason)) {
      slot = std::move(candidate);
      LendLocked(slot, context, start);
    } else {
      DiscardLocked(candidate, reason);
      connector_wakeup_.notify_one();
    }
  }
  if (slot == nullptr) {
    if (!reachable_) {
      ++rejected_unavailable_;
      return absl::UnavailableError(
          absl::StrCat("database unreachable (", last_connect_reason_,
                       "); reconnecting in the background"));
    }
    if (static_cast<int>(waiters_.size()) >= options_.max_waiters) {
      ++rejected_full_;
      return absl::ResourceExhaustedError(absl::StrCat(
          "connection pool exhausted: all ", in_use_.size(),
          " connections in use and ", waiters_.size(),
          " callers already waiting (DB_POOL_MAX=", options_.max_connections,
          ", DB_MAX_WAITERS=", options_.max_waiters, ")"));
    }
    Waiter waiter;
    waiter.since = start;
    waiter.context = &context;
    waiters_.push_back(&waiter);
    connector_wakeup_.notify_one();
    while (!waiter.done) {
      if (waiter.wakeup.wait_until(lock, ToChrono(give_up)) ==
              std::cv_status::timeout &&
          !waiter.done) {
        waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &waiter));
        ++acquire_timeouts_;
        const std::string waited =
            absl::StrCat("waited ", absl::FormatDuration(absl::Now() - start),
                         " for a database connection (", in_use_.size(), " of ",
                         options_.max_connections, " in use, ", waiters_.size(),
                         " waiting)");
        // The caller's deadline says the caller ran out of time; the
        // acquire timeout, before it, says the service is saturated.
        if (give_up < context.deadline) {
          return absl::ResourceExhaustedError(
              absl::StrCat("server busy: ", waited, "; DB_ACQUIRE_TIMEOUT is ",
                           absl::FormatDuration(options_.acquire_timeout)));
        }
        return absl::DeadlineExceededError(
            absl::StrCat("the call's deadline passed: ", waited));
      }
    }
    if (!waiter.failure.ok()) return waiter.failure;
    slot = std::move(waiter.slot);
  }
  const absl::Time now = absl::Now();
  acquire_wait_.Record(now - start);
  if (options_.debug) {
    Log()->info(
        "acquired connection #{} for {} after {} (idle {}, in use {}, waiting "
        "{})",
        slot->id, context.holder, absl::FormatDuration(now - start),
        idle_.size(), in_use_.size(), waiters_.size());
  }
  return Lease(this, std::move(slot));
}

void Pool::Release(const SlotPtr& slot) {
  std::lock_guard<std::mutex> lock(mutex_);
  in_use_.erase(std::find(in_use_.begin(), in_use_.end(), slot));
  if (slot->bulk) --bulk_in_use_;
  const absl::Time now = absl::Now();
  slot->cancelled = nullptr;
  if (slot->has_outcome) {
    query_time_.Record(slot->outcome_elapsed);
    if (!slot->outcome_status.ok())
      RecordErrorLocked(slot->outcome_status, now);
  }
  if (options_.debug) {
    Log()->info("released connection #{} from {} after {}", slot->id,
                slot->holder, absl::FormatDuration(now - slot->lent_at));
  }
  if (stopping_) {
    DiscardLocked(slot, DiscardReason::kShutdown);
  } else if (slot->cancel_issued) {
    DiscardLocked(slot, DiscardReason::kCancelled);
  } else if (slot->discard) {
    DiscardLocked(slot, slot->discard_reason);
  } else if (now >= slot->expires_at) {
    DiscardLocked(slot, DiscardReason::kMaxLifetime);
  } else {
    LendOrParkLocked(slot, now);
    return;
  }
  connector_wakeup_.notify_one();
}

void Pool::LendLocked(const SlotPtr& slot, const common::CallContext& context,
                      absl::Time now) {
  // Everything the watchdog reads is set here, under the lock, before the
  // slot is visible in in_use_ (a hand-off to a waiter included).
  slot->lent_at = now;
  slot->holder = context.holder;
  slot->lease_warned = false;
  slot->discard = false;
  slot->cancel_issued = false;
  slot->aborted = false;
  slot->has_outcome = false;
  slot->call_deadline = std::min(
      context.deadline, now + (context.query_timeout > absl::ZeroDuration()
                                   ? context.query_timeout
                                   : options_.query_timeout));
  slot->cancelled = context.cancelled;
  slot->bulk = context.bulk;
  if (slot->bulk) ++bulk_in_use_;
  in_use_.push_back(slot);
  ++acquired_;
  // Wake the watchdog only from its long idle sleep; while leases are out it
  // polls every few ms anyway. (A wake per call cost a futex wake and a
  // context switch per query: a third of the throughput on 2 cores.)
  if (watchdog_idle_) {
    watchdog_idle_ = false;
    watchdog_wakeup_.notify_one();
  }
}

std::deque<Pool::Waiter*>::iterator Pool::NextWaiterLocked() {
  auto interactive = std::find_if(waiters_.begin(), waiters_.end(),
                                  [](Waiter* w) { return !w->context->bulk; });
  return interactive != waiters_.end() ? interactive : waiters_.begin();
}

bool Pool::WaitersAheadLocked(const common::CallContext& context) const {
  if (context.bulk) return !waiters_.empty();
  return std::any_of(waiters_.begin(), waiters_.end(),
                     [](Waiter* w) { return !w->context->bulk; });
}

int Pool::OpenNotBulkLocked() const {
  return static_cast<int>(idle_.size() + in_use_.size()) - bulk_in_use_;
}

bool Pool::IdleFreeForLocked(const common::CallContext& context) const {
  if (idle_.empty()) return false;
  // Taking one must leave the reserve to interactive calls (idle or lent).
  return !context.bulk ||
         OpenNotBulkLocked() - 1 >= options_.interactive_reserve;
}

void Pool::LendOrParkLocked(const SlotPtr& slot, absl::Time now) {
  auto next = NextWaiterLocked();
  // A bulk waiter gets it only if the reserve stays (`slot` is in neither
  // idle_ nor in_use_ now).
  if (next != waiters_.end() &&
      (!(*next)->context->bulk ||
       OpenNotBulkLocked() >= options_.interactive_reserve)) {
    Waiter* waiter = *next;
    waiters_.erase(next);
    LendLocked(slot, *waiter->context, now);
    waiter->slot = slot;
    waiter->done = true;
    waiter->wakeup.notify_one();
    return;
  }
  slot->idle_since = now;
  idle_.push_back(slot);
}

bool Pool::UsableLocked(const SlotPtr& slot, absl::Time now,
                        DiscardReason* reason) {
  if (slot->opened_at < retire_before_) {
    *reason = DiscardReason::kRetired;
    return false;
  }
  if (now >= slot->expires_at) {
    *reason = DiscardReason::kMaxLifetime;
    return false;
  }
  if (now - slot->idle_since >= options_.validate_after_idle &&
      !slot->connection->LooksAlive()) {
    *reason = DiscardReason::kFailedCheck;
    return false;
  }
  return true;
}

void Pool::DiscardLocked(const SlotPtr& slot, DiscardReason reason) {
  ++discarded_[static_cast<int>(reason)];
  ++closed_;
  const absl::Time now = absl::Now();
  if (reason == DiscardReason::kBroken) {
    // A lost connection usually means the server restarted or crashed: every
    // idle connection opened before now is as dead, so none is lent again.
    retire_before_ = now;
    std::vector<SlotPtr> keep;
    for (SlotPtr& idle : idle_) {
      if (idle->opened_at < retire_before_) {
        ++discarded_[static_cast<int>(DiscardReason::kRetired)];
        ++closed_;
      } else {
        keep.push_back(std::move(idle));
      }
    }
    idle_.swap(keep);
  }
  if (reason != DiscardReason::kShutdown) {
    Log()->info("closed connection #{} ({}); total {}, idle {}, waiting {}",
                slot->id, DiscardReasonName(reason),
                idle_.size() + in_use_.size() + opening_, idle_.size(),
                waiters_.size());
  }
  // The connection closes when the last reference (ours, or the watchdog's
  // during a Cancel) goes away.
}

int Pool::WantedConnectionsLocked() const {
  const int total = static_cast<int>(idle_.size() + in_use_.size()) + opening_;
  // The minimum is kept beside what bulk work holds.
  int wanted = std::max(0, options_.min_connections + bulk_in_use_ - total);
  const int uncovered_waiters = static_cast<int>(waiters_.size()) - opening_;
  wanted = std::max(wanted, uncovered_waiters);
  return std::max(0, std::min(wanted, options_.max_connections - total));
}

void Pool::FailWaitersLocked(const absl::Status& status) {
  for (Waiter* waiter : waiters_) {
    waiter->failure = status;
    waiter->done = true;
    waiter->wakeup.notify_one();
    ++rejected_unavailable_;
  }
  waiters_.clear();
}

void Pool::RecordErrorLocked(const absl::Status& status, absl::Time now) {
  ++errors_[absl::StatusCodeToString(status.code())];
  const int64_t last_minute = error_window_.Add(now);
  if (last_minute > options_.error_rate_warn &&
      now - last_error_rate_warning_ >= absl::Minutes(1)) {
    last_error_rate_warning_ = now;
    Log()->warn(
        "{} database errors in the last minute (DB_ERROR_RATE_WARN={}); "
        "latest: {}",
        last_minute, options_.error_rate_warn, status.ToString());
  }
}

absl::Duration Pool::NextBackoffLocked() {
  const int doublings = std::min(consecutive_failures_, 20);
  ++consecutive_failures_;
  const absl::Duration ceiling =
      std::min(options_.backoff_max,
               options_.backoff_initial * (int64_t{1} << doublings));
  // Equal jitter: half fixed, half random, so retries spread out but never
  // spin.
  return ceiling / 2 +
         ceiling / 2 * std::uniform_real_distribution<double>(0, 1)(random_);
}

void Pool::MaintainLocked(absl::Time now) {
  int total = static_cast<int>(idle_.size() + in_use_.size()) + opening_;
  std::vector<SlotPtr> keep;
  // idle_ is ordered least recently used first.
  for (SlotPtr& slot : idle_) {
    std::optional<DiscardReason> reason;
    if (slot->opened_at < retire_before_) {
      reason = DiscardReason::kRetired;
    } else if (now >= slot->expires_at) {
      reason = DiscardReason::kMaxLifetime;
    } else if (options_.idle_timeout > absl::ZeroDuration() &&
               total > options_.min_connections + bulk_in_use_ &&
               now - slot->idle_since >= options_.idle_timeout) {
      reason = DiscardReason::kIdleTimeout;
    }
    if (reason.has_value()) {
      DiscardLocked(slot, *reason);
      --total;
    } else {
      keep.push_back(std::move(slot));
    }
  }
  idle_.swap(keep);
}

void Pool::ConnectorLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    absl::Time now = absl::Now();
    MaintainLocked(now);
    const int wanted = WantedConnectionsLocked();
    if (wanted > 0 && now >= next_connect_attempt_) {
      ++opening_;
      lock.unlock();
      absl::StatusOr<std::unique_ptr<PooledConnection>> connection =
          connector_->Connect();
      lock.lock();
      --opening_;
      if (stopping_) break;
      now = absl::Now();
      if (connection.ok()) {
        auto slot = std::make_shared<Lease::Slot>();
        slot->connection = *std::move(connection);
        slot->id = next_connection_id_++;
        slot->opened_at = now;
        absl::Duration lifetime = absl::InfiniteDuration();
        if (options_.max_lifetime > absl::ZeroDuration()) {
          lifetime =
              options_.max_lifetime *
              (1 - options_.lifetime_jitter *
                       std::uniform_real_distribution<double>(0, 1)(random_));
        }
        slot->expires_at = now + lifetime;
        ++opened_;
        const bool recovered = !reachable_;
        reachable_ = true;
        consecutive_failures_ = 0;
        next_connect_attempt_ = absl::InfinitePast();
        LendOrParkLocked(slot, now);
        if (static_cast<int>(idle_.size() + in_use_.size()) >=
            options_.min_connections) {
          warmed_ = true;
        }
        Log()->info(
            "new database connection #{}{}; total {}, idle {}, waiting {}",
            slot->id,
            recovered && opened_ > 1 ? " (database reachable again)" : "",
            idle_.size() + in_use_.size() + opening_, idle_.size(),
            waiters_.size());
        ready_changed_.notify_all();
      } else {
        ++connect_failures_;
        const absl::Duration backoff = NextBackoffLocked();
        next_connect_attempt_ = now + backoff;
        last_connect_error_ = std::string(connection.status().message());
        last_connect_reason_ = ConnectFailureReason(last_connect_error_);
        if (reachable_ || consecutive_failures_ % 10 == 1) {
          Log()->warn("cannot open a database connection (retrying in {}): {}",
                      absl::FormatDuration(backoff), last_connect_error_);
        }
        reachable_ = false;
        warmed_ = false;  // after an outage, ready again only once refilled
        RecordErrorLocked(connection.status(), now);
        FailWaitersLocked(absl::UnavailableError(
            absl::StrCat("database unreachable: ", last_connect_reason_)));
        ready_changed_.notify_all();
      }
      continue;
    }
    absl::Time wake = now + absl::Seconds(1);  // maintenance tick
    if (wanted > 0) wake = std::min(wake, next_connect_attempt_);
    connector_wakeup_.wait_until(lock, ToChrono(wake));
  }
}

void Pool::WatchdogLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    std::vector<SlotPtr> to_cancel, to_abort;
    bool calls_running = false;
    for (const SlotPtr& slot : in_use_) {
      if (options_.lease_warn > absl::ZeroDuration() && !slot->lease_warned &&
          now - slot->lent_at >= options_.lease_warn) {
        slot->lease_warned = true;
        ++lease_warnings_;
        Log()->warn(
            "connection #{} held for {} by {} (DB_LEASE_WARN={}): a leak or a "
            "slow call",
            slot->id, absl::FormatDuration(now - slot->lent_at), slot->holder,
            absl::FormatDuration(options_.lease_warn));
      }
      calls_running = true;
      if (!slot->cancel_issued) {
        if (now >= slot->call_deadline ||
            (slot->cancelled && slot->cancelled())) {
          slot->cancel_issued = true;
          slot->cancel_issued_at = now;
          ++cancels_;
          to_cancel.push_back(slot);
        }
      } else if (!slot->aborted &&
                 now - slot->cancel_issued_at >= options_.cancel_grace) {
        slot->aborted = true;
        ++aborts_;
        to_abort.push_back(slot);
      }
    }
    if (!to_cancel.empty() || !to_abort.empty()) {
      lock.unlock();
      // Network calls happen without the lock; the shared_ptrs keep the
      // connections alive even if their leases end meanwhile.
      // A cancel is a connection of its own to the server, and libpq's has no
      // timeout: to a server that stopped answering it waits forever. So it
      // runs on a thread of its own (a few at most; past that the abort
      // after cancel_grace does the job), and the watchdog goes on.
      for (const SlotPtr& slot : to_cancel) {
        if (cancels_in_flight_->fetch_add(1) >= kMaxCancelsInFlight) {
          cancels_in_flight_->fetch_sub(1);
          continue;
        }
        std::thread([slot, in_flight = cancels_in_flight_] {
          slot->connection->Cancel();
          in_flight->fetch_sub(1);
        }).detach();
      }
      for (const SlotPtr& slot : to_abort) {
        Log()->warn(
            "connection #{}: query of {} ignored its cancel for {}; aborting "
            "it",
            slot->id, slot->holder,
            absl::FormatDuration(options_.cancel_grace));
        slot->connection->Abort();
      }
      to_cancel.clear();
      to_abort.clear();
      lock.lock();
      continue;
    }
    // Deadlines are checked every 5 ms while calls run; otherwise the loop
    // only needs to notice leases held too long.
    watchdog_idle_ = !calls_running;
    watchdog_wakeup_.wait_for(lock, calls_running
                                        ? std::chrono::milliseconds(5)
                                        : std::chrono::milliseconds(250));
  }
}

PoolStats Pool::Stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const absl::Time now = absl::Now();
  PoolStats stats;
  stats.idle = static_cast<int>(idle_.size());
  stats.in_use = static_cast<int>(in_use_.size());
  stats.opening = opening_;
  stats.total = stats.idle + stats.in_use;
  stats.waiting = static_cast<int>(waiters_.size());
  stats.min = options_.min_connections;
  stats.max = options_.max_connections;
  stats.oldest_waiter_age =
      waiters_.empty() ? absl::ZeroDuration() : now - waiters_.front()->since;
  stats.database_reachable = reachable_;
  stats.last_connect_error = last_connect_reason_;
  stats.opened = opened_;
  stats.connect_failures = connect_failures_;
  stats.closed = closed_;
  for (int i = 0; i < static_cast<int>(DiscardReason::kCount); ++i) {
    if (discarded_[i] > 0)
      stats.discarded[DiscardReasonName(static_cast<DiscardReason>(i))] =
          discarded_[i];
  }
  stats.acquired = acquired_;
  stats.acquire_timeouts = acquire_timeouts_;
  stats.rejected_full = rejected_full_;
  stats.rejected_unavailable = rejected_unavailable_;
  stats.cancels = cancels_;
  stats.aborts = aborts_;
  stats.lease_warnings = lease_warnings_;
  stats.errors = errors_;
  stats.errors_last_minute = error_window_.CountAt(now);
  stats.acquire_wait = acquire_wait_.Summary();
  stats.query_time = query_time_.Summary();
  stats.acquire_wait_seconds =
      acquire_wait_.PrometheusSnapshot(observability::LatencyBucketsSeconds());
  stats.use_time_seconds =
      query_time_.PrometheusSnapshot(observability::LatencyBucketsSeconds());
  return stats;
}

}  // namespace aves::db
