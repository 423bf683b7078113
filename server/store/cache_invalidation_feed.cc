#include "server/store/cache_invalidation_feed.h"

#include <algorithm>

#include <absl/strings/escaping.h>
#include <absl/strings/str_split.h>
#include <pqxx/pqxx>

#include "server/common/status_macros.h"
#include "server/common/utf8.h"
#include "server/common/validation.h"
#include "server/db/connection.h"
#include "server/db/listener.h"
#include "server/db/statement_name.h"
#include "server/observability/logging.h"

namespace aves::store {
namespace {

constexpr char kChannel[] = "aves_exercise_cache";
constexpr absl::Duration kBackoffInitial = absl::Milliseconds(100);
constexpr absl::Duration kBackoffMax = absl::Seconds(5);
// One wait for notifications: the bound on noticing Stop().
constexpr absl::Duration kWait = absl::Milliseconds(200);
// The learners one wake-up invalidates, bounded: past this many, the cache
// is flushed instead (cheaper, and nothing more is held).
constexpr size_t kMostUsersInvalidated = 10'000;

}  // namespace

bool ParseCacheInvalidation(absl::string_view payload, CacheInvalidation* out) {
  out->flush = false;
  out->user_ids.clear();
  if (payload == "flush") {
    out->flush = true;
    return true;
  }
  std::vector<absl::string_view> words =
      absl::StrSplit(payload, ' ', absl::SkipEmpty());
  if (words.size() < 2 || words[0] != "users") return false;
  for (size_t i = 1; i < words.size(); ++i) {
    std::string canonical;
    if (!common::ValidateUuid("user_id", words[i], &canonical).ok())
      return false;
    out->user_ids.push_back(std::move(canonical));
  }
  return true;
}

CacheInvalidationFeed::CacheInvalidationFeed(std::string conninfo,
                                             LookupCache& cache,
                                             Options options)
    : conninfo_(std::move(conninfo)), cache_(cache), options_(options) {
  cache_.SetBypass(true);
}

CacheInvalidationFeed::~CacheInvalidationFeed() { Stop(); }

void CacheInvalidationFeed::Start() {
  if (!cache_.enabled()) return;  // nothing to keep coherent
  thread_ = std::thread([this] { Run(); });
}

void CacheInvalidationFeed::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    if (active_ != nullptr) active_->Interrupt();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool CacheInvalidationFeed::Stopping() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

bool CacheInvalidationFeed::WaitUntilListening(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                           [this] { return listening_.load(); });
}

absl::Status CacheInvalidationFeed::Listen(db::Listener& listener) {
  auto log = observability::Logger("cache-feed");
  absl::Time last_heartbeat = absl::Now();
  while (!Stopping()) {
    ASSIGN_OR_RETURN(const std::vector<std::string> payloads,
                     listener.Await(kWait));
    bool flush = false;
    std::vector<std::string> users;
    for (const std::string& payload : payloads) {
      messages_.fetch_add(1);
      CacheInvalidation invalidation;
      if (!ParseCacheInvalidation(payload, &invalidation)) {
        // Quoted escaped (no forged log lines) and cut short.
        log->warn(
            "flushing the lookup cache for a malformed notification on "
            "{}: \"{}\"{}",
            kChannel, absl::CHexEscape(common::Utf8Prefix(payload, 80)),
            payload.size() > 80 ? " (cut)" : "");
        flush = true;
      }
      flush =
          flush || invalidation.flush ||
          users.size() + invalidation.user_ids.size() > kMostUsersInvalidated;
      if (!flush) {
        users.insert(users.end(), invalidation.user_ids.begin(),
                     invalidation.user_ids.end());
      }
    }
    if (flush) {
      cache_.Flush();
    } else if (!users.empty()) {
      cache_.InvalidateUsers(users);
    }
    // Notifications only come while the connection works: without a
    // heartbeat a dead one would look like a quiet table.
    const absl::Time now = absl::Now();
    if (now - last_heartbeat >= options_.heartbeat) {
      last_heartbeat = now;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        heartbeat_started_ = now;
      }
      const absl::Status answered =
          listener.Run([](pqxx::connection_base& connection) {
            pqxx::nontransaction(connection)
                .exec(AVES_SQL_NAME("cache_feed_heartbeat") "SELECT 1");
            return absl::OkStatus();
          });
      {
        std::lock_guard<std::mutex> lock(mutex_);
        heartbeat_started_ = absl::InfiniteFuture();
      }
      RETURN_IF_ERROR(answered);
    }
  }
  return absl::OkStatus();
}

void CacheInvalidationFeed::Run() {
  auto log = observability::Logger("cache-feed");
  const std::string conninfo = db::WithDeadPeerDetection(
      db::WithConnectTimeout(conninfo_, options_.dead_after),
      options_.dead_after);
  db::Listener listener(conninfo, "avesd cache invalidation", kChannel,
                        absl::Seconds(5));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    active_ = &listener;
  }
  std::thread watchdog([this, &listener] { WatchdogLoop(&listener); });
  absl::Duration backoff = kBackoffInitial;
  while (!Stopping()) {
    if (absl::Status connected = listener.Connect(); !connected.ok()) {
      log->warn(
          "cannot listen for exercise_cache changes; the lookup cache "
          "is bypassed (retry in {}): {}",
          absl::FormatDuration(backoff),
          db::RedactConnectionString(connected.message()));
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait_for(lock, absl::ToChronoNanoseconds(backoff),
                        [this] { return stopping_; });
      backoff = std::min(backoff * 2, kBackoffMax);
      continue;
    }
    backoff = kBackoffInitial;
    // LISTEN is in effect: from here every commit is reported, and what came
    // before is flushed away.
    cache_.SetBypass(false);
    listening_.store(true);
    changed_.notify_all();
    log->info("listening for exercise_cache changes on channel {}", kChannel);
    const absl::Status lost = Listen(listener);
    cache_.SetBypass(true);
    listening_.store(false);
    if (!lost.ok() && !Stopping()) {
      disconnects_.fetch_add(1);
      log->warn(
          "the lookup cache's invalidation feed lost its connection; "
          "the cache is flushed and bypassed until it is back: {}",
          db::RedactConnectionString(lost.message()));
    }
    listener.Close();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    active_ = nullptr;
    run_done_ = true;
  }
  changed_.notify_all();
  watchdog.join();
}

void CacheInvalidationFeed::WatchdogLoop(db::Listener* listener) {
  auto log = observability::Logger("cache-feed");
  const absl::Duration tick =
      std::clamp(options_.dead_after / 10, absl::Milliseconds(10),
                 absl::Milliseconds(500));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!run_done_) {
    changed_.wait_for(lock, absl::ToChronoNanoseconds(tick));
    if (run_done_ || stopping_) continue;
    if (absl::Now() - heartbeat_started_ > options_.dead_after) {
      heartbeat_started_ = absl::InfiniteFuture();  // once per heartbeat
      // Bypassed first: from here no answer is served that a missed
      // notification could have made stale.
      cache_.SetBypass(true);
      listening_.store(false);
      log->warn(
          "the lookup cache's invalidation feed has not answered for {}: "
          "bypassing the cache and dropping the connection",
          absl::FormatDuration(options_.dead_after));
      listener->Interrupt();
    }
  }
}

}  // namespace aves::store
