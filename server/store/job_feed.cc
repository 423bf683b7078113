#include "server/store/job_feed.h"

#include <algorithm>
#include <map>
#include <set>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <pqxx/pqxx>

#include "server/observability/logging.h"

namespace aves::store {
namespace {

constexpr char kChannel[] = "aves_batch_jobs";
constexpr absl::Duration kBackoffInitial = absl::Milliseconds(100);
constexpr absl::Duration kBackoffMax = absl::Seconds(5);
// How long one wait for notifications lasts: the bound on noticing Stop().
constexpr long kWaitMicros = 200'000;

// Collects the payloads one await_notification call delivers.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& connection, std::vector<JobNotification>* out)
      : pqxx::notification_receiver(connection, kChannel), out_(out) {}
  void operator()(const std::string& payload, int) override {
    JobNotification notification;
    if (ParseJobNotification(payload, &notification)) {
      out_->push_back(std::move(notification));
    } else {
      observability::Logger("job-feed")
          ->warn("ignoring a malformed notification on {}: {}", kChannel,
                 payload);
    }
  }

 private:
  std::vector<JobNotification>* out_;
};

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
  out->status = std::string(parts[2]);
  out->old_status = parts[3] == "-" ? std::string() : std::string(parts[3]);
  out->job_type = std::string(parts[4]);
  return !out->id.empty() && !out->status.empty();
}

JobFeed::JobFeed(std::string conninfo) : conninfo_(std::move(conninfo)) {}

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
  return absl::OkStatus();
}

void JobFeed::Unsubscribe(Subscriber* subscriber) {
  std::lock_guard<std::mutex> lock(mutex_);
  subscribers_.erase(
      std::remove(subscribers_.begin(), subscribers_.end(), subscriber),
      subscribers_.end());
}

bool JobFeed::WaitUntilListening(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                           [this] { return listening_; });
}

void JobFeed::InterruptAll(const absl::Status& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Subscriber* subscriber : subscribers_)
    subscriber->OnFeedInterrupted(why);
  subscribers_.clear();
}

void JobFeed::Deliver(const std::vector<JobNotification>& notifications,
                      pqxx::connection& connection) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (subscribers_.empty()) return;  // nobody watches: no query
  }
  std::set<std::string> unique_ids;
  for (const JobNotification& n : notifications) unique_ids.insert(n.id);
  std::vector<Job> rows =
      JobStore::Fetch(connection, {unique_ids.begin(), unique_ids.end()});
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
}

void JobFeed::Run() {
  auto log = observability::Logger("job-feed");
  absl::Duration backoff = kBackoffInitial;
  std::vector<JobNotification> pending;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (stopping_) break;
    }
    std::unique_ptr<pqxx::connection> connection;
    std::unique_ptr<Receiver> receiver;
    try {
      connection = std::make_unique<pqxx::connection>(conninfo_);
      pqxx::nontransaction(*connection)
          .exec(
              "SET application_name = 'avesd job feed'; SET statement_timeout "
              "= 5000");
      receiver = std::make_unique<Receiver>(*connection, &pending);  // LISTEN
    } catch (const std::exception& e) {
      receiver.reset();
      connection.reset();
      log->warn("cannot listen for job changes (retry in {}): {}",
                absl::FormatDuration(backoff), e.what());
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
    try {
      while (true) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (stopping_) break;
        }
        connection->await_notification(0, kWaitMicros);
        if (!pending.empty()) {
          Deliver(pending, *connection);
          pending.clear();
        }
      }
    } catch (const std::exception& e) {
      log->warn("job change feed lost its connection: {}", e.what());
    }
    pending.clear();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      listening_ = false;
    }
    receiver.reset();  // before its connection
    connection.reset();
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping = stopping_;
    }
    if (!stopping) {
      InterruptAll(absl::UnavailableError(
          "the job change feed lost its database connection; watch again"));
    }
  }
  InterruptAll(absl::UnavailableError("server shutting down"));
}

}  // namespace aves::store
