#include "server/store/job_feed.h"

#include <algorithm>
#include <map>
#include <set>

#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <absl/time/clock.h>
#include <pqxx/pqxx>

#include "server/common/status_macros.h"
#include "server/common/utf8.h"
#include "server/db/connection.h"
#include "server/db/listener.h"
#include "server/db/statement_name.h"
#include "server/observability/logging.h"

namespace aves::store {
namespace {

constexpr char kChannel[] = "aves_batch_jobs";
constexpr absl::Duration kBackoffInitial = absl::Milliseconds(100);
constexpr absl::Duration kBackoffMax = absl::Seconds(5);
// How long one wait for notifications lasts: the bound on noticing Stop().
constexpr absl::Duration kWait = absl::Milliseconds(200);

}  // namespace

bool ParseJobNotification(absl::string_view payload, JobNotification* out) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(payload, absl::MaxSplits(' ', 4));
  if (parts.size() != 5) return false;
  if (parts[0] == "INSERT") {
    out->kind = JobChange::Kind::kCreated;
  } else if (parts[0] == "UPDATE") {
    out->kind = JobChange::Kind::kUpdated;
  } else if (parts[0] == "DELETE") {
    out->kind = JobChange::Kind::kDeleted;
  } else {
    return false;
  }
  out->id = std::string(parts[1]);
  const std::optional<JobStatus> status = ParseJobStatus(parts[2]);
  if (!status.has_value()) return false;
  out->status = *status;
  out->old_status.reset();
  if (parts[3] != "-") {
    out->old_status = ParseJobStatus(parts[3]);
    if (!out->old_status.has_value()) return false;
  }
  out->job_type = std::string(parts[4]);
  return !out->id.empty();
}

JobFeed::JobFeed(std::string conninfo, Options options)
    : conninfo_(std::move(conninfo)), options_(options) {}

JobFeed::~JobFeed() { Stop(); }

void JobFeed::Start() {
  thread_ = std::thread([this] { Run(); });
}

void JobFeed::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  watchdog_wakeup_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status JobFeed::Subscribe(Subscriber* subscriber) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return absl::UnavailableError("server shutting down");
  if (!listening_) {
    return absl::UnavailableError(
        "the job change feed is not connected to the database; retry");
  }
  subscribers_.push_back(subscriber);
  subscribed_at_[subscriber] = absl::Now();
  return absl::OkStatus();
}

void JobFeed::Unsubscribe(Subscriber* subscriber) {
  std::lock_guard<std::mutex> lock(mutex_);
  subscribers_.erase(
      std::remove(subscribers_.begin(), subscribers_.end(), subscriber),
      subscribers_.end());
  subscribed_at_.erase(subscriber);
}

bool JobFeed::WaitUntilListening(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                           [this] { return listening_; });
}

bool JobFeed::Stopping() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

void JobFeed::InterruptAll(const absl::Status& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Subscriber* subscriber : subscribers_)
    subscriber->OnFeedInterrupted(why);
  subscribers_.clear();
  subscribed_at_.clear();
}

void JobFeed::EndOldSubscriptions(absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Subscriber*> keep;
  for (Subscriber* subscriber : subscribers_) {
    if (now - subscribed_at_[subscriber] < options_.max_subscription) {
      keep.push_back(subscriber);
      continue;
    }
    subscriber->OnFeedInterrupted(absl::UnavailableError(
        absl::StrCat("the watch reached its longest duration (",
                     absl::FormatDuration(options_.max_subscription),
                     ", AVES_WATCH_MAX_DURATION_MS); watch again")));
    subscribed_at_.erase(subscriber);
  }
  subscribers_.swap(keep);
}

template <typename Call>
auto JobFeed::Watched(Call call) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    call_started_ = absl::Now();
  }
  auto result = call();
  std::lock_guard<std::mutex> lock(mutex_);
  call_started_ = absl::InfiniteFuture();
  return result;
}

void JobFeed::WatchdogLoop(db::Listener* listener) {
  auto log = observability::Logger("job-feed");
  const absl::Duration tick =
      std::clamp(options_.dead_after / 10, absl::Milliseconds(10),
                 absl::Milliseconds(500));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!run_done_) {
    watchdog_wakeup_.wait_for(lock, absl::ToChronoNanoseconds(tick));
    if (run_done_) break;
    if (stopping_) {
      listener->Interrupt();  // whatever the feed waits on, Stop goes first
    } else if (absl::Now() - call_started_ > options_.dead_after) {
      log->warn(
          "the job feed's database has not answered for {}: dropping "
          "its connection",
          absl::FormatDuration(options_.dead_after));
      call_started_ = absl::InfiniteFuture();  // once per call
      listener->Interrupt();
    }
  }
}

absl::Status JobFeed::Deliver(
    db::Listener& listener, const std::vector<JobNotification>& notifications) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (subscribers_.empty()) return absl::OkStatus();  // nobody watches
  }
  std::set<std::string> unique_ids;
  for (const JobNotification& n : notifications) unique_ids.insert(n.id);
  ASSIGN_OR_RETURN(
      const std::vector<Job> rows,
      JobStore::FetchOn(listener, {unique_ids.begin(), unique_ids.end()}));
  std::map<std::string, const Job*> by_id;
  for (const Job& job : rows) by_id[job.id] = &job;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const JobNotification& n : notifications) {
    JobChange change;
    change.kind = n.kind;
    change.old_status = n.old_status;
    auto found = by_id.find(n.id);
    if (found != by_id.end() && n.kind != JobChange::Kind::kDeleted) {
      change.job = *found->second;
    } else if (n.kind == JobChange::Kind::kDeleted) {
      change.job.id = n.id;
      change.job.status = n.status;
      change.job.job_type = n.job_type;
    } else {
      continue;  // deleted since: its DELETE notification follows
    }
    for (Subscriber* subscriber : subscribers_) subscriber->OnJobChange(change);
  }
  return absl::OkStatus();
}

absl::Status JobFeed::Listen(db::Listener& listener) {
  auto log = observability::Logger("job-feed");
  absl::Time last_heartbeat = absl::Now();
  while (!Stopping()) {
    ASSIGN_OR_RETURN(const std::vector<std::string> payloads,
                     listener.Await(kWait));
    std::vector<JobNotification> notifications;
    for (const std::string& payload : payloads) {
      JobNotification notification;
      if (ParseJobNotification(payload, &notification)) {
        notifications.push_back(std::move(notification));
      } else {
        // Any role that may connect can NOTIFY this channel: its text is
        // quoted escaped (no forged log lines) and cut short.
        log->warn("ignoring a malformed notification on {}: \"{}\"{}", kChannel,
                  absl::CHexEscape(common::Utf8Prefix(payload, 80)),
                  payload.size() > 80 ? " (cut)" : "");
      }
    }
    if (!notifications.empty()) {
      RETURN_IF_ERROR(
          Watched([&] { return Deliver(listener, notifications); }));
    }
    const absl::Time now = absl::Now();
    EndOldSubscriptions(now);
    // Notifications only come while the connection works: without a
    // heartbeat a dead one would look like a quiet feed.
    if (now - last_heartbeat >= options_.heartbeat) {
      last_heartbeat = now;
      RETURN_IF_ERROR(Watched([&] {
        return listener.Run([](pqxx::connection_base& connection) {
          pqxx::nontransaction(connection)
              .exec(AVES_SQL_NAME("job_feed_heartbeat") "SELECT 1");
          return absl::OkStatus();
        });
      }));
    }
  }
  return absl::OkStatus();
}

void JobFeed::Run() {
  auto log = observability::Logger("job-feed");
  // The feed's reads are small; five seconds is plenty. Connecting is bounded
  // by dead_after too.
  const std::string conninfo = db::WithDeadPeerDetection(
      db::WithConnectTimeout(conninfo_, options_.dead_after),
      options_.dead_after);
  db::Listener listener(conninfo, "avesd job feed", kChannel, absl::Seconds(5));
  std::thread watchdog([this, &listener] { WatchdogLoop(&listener); });
  absl::Duration backoff = kBackoffInitial;
  while (!Stopping()) {
    if (absl::Status connected = listener.Connect(); !connected.ok()) {
      log->warn("cannot listen for job changes (retry in {}): {}",
                absl::FormatDuration(backoff),
                std::string(connected.message()));
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait_for(lock, absl::ToChronoNanoseconds(backoff),
                        [this] { return stopping_; });
      backoff = std::min(backoff * 2, kBackoffMax);
      continue;
    }
    backoff = kBackoffInitial;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      listening_ = true;
    }
    changed_.notify_all();
    log->info("listening for job changes on channel {}", kChannel);
    const absl::Status lost = Listen(listener);
    if (!lost.ok()) {
      // libpq's text, redacted like every connection string in the log.
      log->warn("job change feed lost its connection: {}",
                db::RedactConnectionString(lost.message()));
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      listening_ = false;
    }
    listener.Close();
    if (!Stopping()) {
      InterruptAll(absl::UnavailableError(
          "the job change feed lost its database connection; watch again"));
    }
  }
  InterruptAll(absl::UnavailableError("server shutting down"));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    run_done_ = true;
  }
  watchdog_wakeup_.notify_all();
  watchdog.join();
}

}  // namespace aves::store
