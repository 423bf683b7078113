// BulkInsertService: the Insert stream. One call is one load, run by a
// bulk::Loader (server/bulk/loader.h has the rules); this handler only
// adapts the gRPC stream to it: messages in, converted; the loader's
// messages out; its blocking work onto the executor. The stream's messages
// are read as bytes and parsed here: gRPC reports a message that does not
// parse exactly like the client's half-close (a failed read), and a load
// must never complete on one.
//
// At most limits.max_loads streams are open at once: one more is refused at
// once with RESOURCE_EXHAUSTED naming AVES_BULK_MAX_LOADS. A stream whose
// read has waited limits.idle_timeout for a message ends (EndIdleStreams):
// DEADLINE_EXCEEDED naming AVES_BULK_IDLE_TIMEOUT_MS, the load cancelled and
// resumable. A stream the server stopped reading (backpressure) is never
// idle.
#ifndef AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_
#define AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_

#include <atomic>
#include <mutex>
#include <set>
#include <string>

#include <absl/time/time.h>

#include "aves/data/v1/bulk_insert.grpc.pb.h"
#include "server/bulk/load_store.h"
#include "server/bulk/loader.h"
#include "server/handlers/offload.h"

namespace aves::handlers {

class BulkInsertServiceImpl final
    : public aves::data::v1::BulkInsertService::CallbackService {
 public:
  // `loader_tables`: the tables a caller with the loader role (and not
  // admin) may load into (AVES_BULK_LOADER_TABLES). `metrics` (may be null)
  // counts the loads' rows and batches.
  BulkInsertServiceImpl(bulk::LoadStore& store, HandlerContext handler,
                        bulk::LoadLimits limits,
                        std::set<std::string> loader_tables = {},
                        bulk::BulkMetrics* metrics = nullptr)
      : store_(store),
        handler_(handler),
        limits_(limits),
        loader_tables_(std::move(loader_tables)),
        metrics_(metrics) {
    RegisterRawInsert();
  }

  // Ends the streams idle at `now` (called periodically by the server).
  void EndIdleStreams(absl::Time now);

  // An open stream, as the idle check sees it.
  class OpenStream {
   public:
    virtual ~OpenStream() = default;
    // When its read started waiting for a message; InfiniteFuture: no read
    // is waiting.
    virtual absl::Time waiting_since() const = 0;
    // Ends it; must not finish the call inline (the registry's lock is held).
    virtual void EndIdle() = 0;
  };
  void Register(OpenStream* stream);
  void Unregister(OpenStream* stream);

 private:
  void RegisterRawInsert();

  bulk::LoadStore& store_;
  const HandlerContext handler_;
  const bulk::LoadLimits limits_;
  const std::set<std::string> loader_tables_;
  bulk::BulkMetrics* const metrics_;

  // Who `caller` is to the loader: its subject and its table rule.
  bulk::Loader::Caller LoadCallerOf(const auth::Caller* caller) const;
  std::atomic<int> open_loads_{0};
  std::mutex streams_mutex_;
  std::set<OpenStream*> streams_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_
