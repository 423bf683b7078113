// JobFeed: the change feed behind BatchJobService.WatchJobs. One thread holds
// one PostgreSQL connection of its own (outside the pool: LISTEN ties up a
// session for good) listening on channel aves_batch_jobs (migration 010).
// For each wake-up it reads the changed rows in one query and hands every
// subscriber the events; subscribers filter and queue them themselves.
//
// When the connection is lost, changes made meanwhile would be missed, so
// every subscriber is interrupted (UNAVAILABLE: take a new snapshot) and the
// feed reconnects with back-off. A connection that dies silently (a peer or
// a middlebox that stops answering without a reset) is found within about
// `dead_after`: TCP keepalives and tcp_user_timeout on the socket, and a
// heartbeat query every `heartbeat` that a watchdog thread ends (shutting
// the socket down) if it has not answered within `dead_after`. The same
// watchdog makes Stop() prompt even while the database does not answer.
// A subscription ends (UNAVAILABLE, watch again) after `max_subscription`,
// so no watcher holds its slot forever. Subscribe fails with UNAVAILABLE while
// the feed is not listening, so no watcher believes it sees every change when
// it does not.
#ifndef AVES_SERVER_STORE_JOB_FEED_H_
#define AVES_SERVER_STORE_JOB_FEED_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>

#include "server/store/job_status.h"
#include "server/store/job_store.h"

namespace aves::db {
class Listener;
}  // namespace aves::db

namespace aves::store {

struct JobChange {
  enum class Kind { kCreated, kUpdated, kDeleted };
  Kind kind = Kind::kUpdated;
  // The row as read after the notification (for kDeleted: id, job_type and
  // status from the notification only).
  Job job;
  std::optional<JobStatus> old_status;  // kUpdated: the status before it
};

// One notification payload, "OP ID STATUS OLD_STATUS JOB_TYPE"; false when it
// is not one (the trigger of migration 010 writes them).
struct JobNotification {
  JobChange::Kind kind;
  std::string id;
  JobStatus status = JobStatus::kPending;
  std::optional<JobStatus> old_status;  // an update's status before it
  std::string job_type;
};
bool ParseJobNotification(absl::string_view payload, JobNotification* out);

class JobFeed {
 public:
  class Subscriber {
   public:
    virtual ~Subscriber() = default;
    // Called on the feed's thread; must not block.
    virtual void OnJobChange(const JobChange& change) = 0;
    // The feed stopped or lost changes; no more calls follow.
    virtual void OnFeedInterrupted(const absl::Status& why) = 0;
  };

  struct Options {
    absl::Duration heartbeat = absl::Seconds(5);    // AVES_FEED_HEARTBEAT_MS
    absl::Duration dead_after = absl::Seconds(15);  // AVES_FEED_DEAD_AFTER_MS
    absl::Duration max_subscription =
        absl::Hours(1);  // AVES_WATCH_MAX_DURATION_MS
  };

  JobFeed(std::string conninfo, Options options);
  ~JobFeed();  // Stop()

  void Start();
  // Interrupts every subscriber (UNAVAILABLE "server shutting down") and
  // joins the thread. Idempotent.
  void Stop();

  // Starts delivering to `subscriber` (until Unsubscribe or an interruption).
  // UNAVAILABLE while the feed is not listening.
  absl::Status Subscribe(Subscriber* subscriber);
  // After it returns, `subscriber` is never called again.
  void Unsubscribe(Subscriber* subscriber);

  // Blocks until the feed listens or `timeout` passes (for start-up/tests).
  bool WaitUntilListening(absl::Duration timeout);

 private:
  void Run();
  // Listens until the connection is lost or Stop(); the reason it stopped.
  absl::Status Listen(db::Listener& listener);
  void InterruptAll(const absl::Status& why);
  // Ends the subscriptions older than max_subscription.
  void EndOldSubscriptions(absl::Time now);
  bool Stopping();
  // Runs a database call on the listener under the watchdog: past
  // dead_after the socket is shut down and the call fails.
  template <typename Call>
  auto Watched(Call call);
  void WatchdogLoop(db::Listener* listener);
  // Reads the changed rows and hands every subscriber the changes.
  absl::Status Deliver(db::Listener& listener,
                       const std::vector<JobNotification>& notifications);

  const std::string conninfo_;
  const Options options_;
  std::thread thread_;
  // Guards the fields below. Held while delivering, so Unsubscribe waits for
  // a delivery in progress to finish.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Subscriber*> subscribers_;
  std::map<Subscriber*, absl::Time> subscribed_at_;
  bool listening_ = false;
  bool stopping_ = false;
  // When the database call in progress on the listener began (InfiniteFuture:
  // none), for the watchdog.
  absl::Time call_started_ = absl::InfiniteFuture();
  std::condition_variable watchdog_wakeup_;
  bool run_done_ = false;  // the feed's thread ended: so does the watchdog
};

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_JOB_FEED_H_
