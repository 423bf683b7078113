#include "server/handlers/bulk_insert_service.h"

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include "server/handlers/access_log.h"
#include "server/handlers/call_context.h"
#include "server/handlers/grpc_status.h"
#include "server/handlers/proto_convert.h"
#include "server/handlers/unparsable_request.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;

namespace {

constexpr char kMethod[] = "BulkInsertService.Insert";

// A RowChunk as the loader reads it.
class ChunkView final : public bulk::RowChunkView {
 public:
  explicit ChunkView(const v1::RowChunk& chunk) : chunk_(chunk) {}
  int64_t first_row() const override { return chunk_.first_row(); }
  int rows() const override { return chunk_.rows_size(); }
  int cells(int row) const override { return chunk_.rows(row).cells_size(); }
  bulk::CellValue cell(int row, int column) const override {
    return FromProto(chunk_.rows(row).cells(column));
  }

 private:
  const v1::RowChunk& chunk_;
};

// One Insert call: gRPC's events go to the loader; what the loader asks of
// its stream (LoadStream) becomes gRPC calls.
using RawBidiReactor =
    grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;

// A stream refused before it starts: too many loads open.
// An Insert stream ended at once with `status` (logged unless `log` is
// false), before it reads.
class RefusedInsertReactor final : public RawBidiReactor {
 public:
  RefusedInsertReactor(grpc::Status status, bool log = true)
      : status_(std::move(status)) {
    if (log) log_.emplace(kMethod, absl::InfiniteDuration());
    Finish(status_);
  }
  void OnDone() override {
    if (log_.has_value()) log_->Done(status_, 0);
    delete this;
  }

 private:
  std::optional<AccessLog> log_;
  grpc::Status status_;
};

class InsertReactor final : public RawBidiReactor,
                            public BulkInsertServiceImpl::OpenStream {
 public:
  InsertReactor(grpc::CallbackServerContext* context, bulk::LoadStore& store,
                HandlerContext handler, bulk::LoadLimits limits,
                BulkInsertServiceImpl& service, std::atomic<int>& open_loads,
                std::shared_ptr<const auth::Caller> caller,
                bulk::Loader::Caller load_caller, bulk::BulkMetrics* metrics)
      : context_(context),
        service_(service),
        open_loads_(open_loads),
        executor_(handler.executor),
        log_(kMethod, handler.slow_rpc),
        stream_(*this),
        loader_(stream_, store, limits, std::move(load_caller), metrics) {
    log_.set_caller(std::move(caller));
    service_.Register(this);
    loader_.Start();
  }

  absl::Time waiting_since() const override {
    const int64_t since = read_waiting_since_ns_.load();
    return since == kNoReadWaiting ? absl::InfiniteFuture()
                                   : absl::FromUnixNanos(since);
  }

  void EndIdle() override {
    read_waiting_since_ns_.store(kNoReadWaiting);  // once is enough
    // Not inline: ending may finish the call, and OnDone takes the
    // registry's lock held by our caller. A full executor: the next check
    // tries again.
    (void)PostTask([this] { loader_.OnIdle(); });
  }

  void OnReadDone(bool ok) override {
    read_waiting_since_ns_.store(kNoReadWaiting);
    if (!ok) return loader_.OnReadsEnded();
    // Parsing and encoding rows is the CPU a load costs: it runs on the bulk
    // executor's low-priority threads, not on gRPC's, which lookups need.
    // One read is in flight at a time, so messages are handled in order.
    if (!PostTask([this] { HandleMessage(); })) loader_.OnExecutorFull();
  }

  // Runs `task` on the executor, the reactor kept until it has run: the call
  // may end (OnDone) while a task waits, and whichever of the two comes last
  // deletes the reactor.
  bool PostTask(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(lifetime_mutex_);
      ++tasks_pending_;
    }
    if (executor_.Post([this, task = Counted(statements_, std::move(task))] {
          task();
          TaskDone();
        })) {
      return true;
    }
    std::lock_guard<std::mutex> lock(lifetime_mutex_);
    --tasks_pending_;  // nothing was posted
    return false;
  }

  void TaskDone() {
    std::unique_lock<std::mutex> lock(lifetime_mutex_);
    // The next message's task may be posted before this one returns.
    if (--tasks_pending_ > 0 || !done_) return;
    lock.unlock();
    delete this;
  }

  // The statements of a stream's tasks, for its access-log line. Its batches
  // commit on several threads at once: each task counts on its own, then
  // adds. Shared, because a task may outlive the reactor's OnDone.
  struct StreamStatements {
    std::atomic<int64_t> count{0};
    std::atomic<int64_t> nanos{0};
  };
  static std::function<void()> Counted(std::shared_ptr<StreamStatements> into,
                                       std::function<void()> work) {
    return [into = std::move(into), work = std::move(work)] {
      db::CallStatements local;
      local.rpc = kMethod;
      {
        db::CountStatementsScope counting(&local);
        work();
      }
      into->count.fetch_add(local.count);
      into->nanos.fetch_add(absl::ToInt64Nanoseconds(local.time));
    };
  }

  void HandleMessage() {
    if (!grpc::SerializationTraits<v1::InsertRequest>::Deserialize(
             &raw_request_, &request_)
             .ok()) {
      return loader_.OnUnparsableMessage();
    }
    switch (request_.message_case()) {
      case v1::InsertRequest::kHeader:
        return loader_.OnHeader(FromProto(request_.header()));
      case v1::InsertRequest::kRows:
        return loader_.OnRows(ChunkView(request_.rows()));
      case v1::InsertRequest::MESSAGE_NOT_SET:
        break;
    }
    loader_.OnOtherMessage();
  }

  void OnWriteDone(bool ok) override { loader_.OnWriteDone(ok); }

  void OnDone() override {
    service_.Unregister(this);
    log_.set_statements(statements_->count.load(),
                        absl::Nanoseconds(statements_->nanos.load()));
    log_.Done(final_status_, loader_.rows_inserted());
    open_loads_.fetch_sub(1);
    std::unique_lock<std::mutex> lock(lifetime_mutex_);
    done_ = true;
    if (tasks_pending_ > 0) return;  // TaskDone deletes it
    lock.unlock();
    delete this;  // the loader waits for whoever finished the call
  }

 private:
  class Stream final : public bulk::LoadStream {
   public:
    explicit Stream(InsertReactor& reactor) : reactor_(reactor) {}
    void StartRead() override {
      reactor_.read_waiting_since_ns_.store(absl::GetCurrentTimeNanos());
      reactor_.StartRead(&reactor_.raw_request_);
    }
    void StartWrite(const bulk::LoadMessage& message) override {
      ToProto(message, &reactor_.response_);
      // The previous write is done (one is in flight at a time).
      reactor_.raw_response_.Clear();
      bool own_buffer = false;
      // Serializing a message we built cannot fail.
      (void)grpc::SerializationTraits<v1::InsertResponse>::Serialize(
          reactor_.response_, &reactor_.raw_response_, &own_buffer);
      reactor_.StartWrite(&reactor_.raw_response_);
    }
    void Finish(const absl::Status& status) override {
      reactor_.final_status_ = ToGrpcStatus(status);
      reactor_.Finish(reactor_.final_status_);
    }
    bool Post(std::function<void()> work) override {
      return reactor_.executor_.Post(
          Counted(reactor_.statements_, std::move(work)));
    }
    common::CallContext Context() const override {
      common::CallContext context = CallContextOf(reactor_.context_, kMethod);
      context.bulk = true;  // yields connections to lookups (db/pool.h)
      return context;
    }
    bool Cancelled() const override { return reactor_.context_->IsCancelled(); }

   private:
    InsertReactor& reactor_;
  };

  static constexpr int64_t kNoReadWaiting = INT64_MAX;

  grpc::CallbackServerContext* const context_;
  BulkInsertServiceImpl& service_;
  std::atomic<int>& open_loads_;
  std::atomic<int64_t> read_waiting_since_ns_{kNoReadWaiting};
  std::mutex lifetime_mutex_;
  const std::shared_ptr<StreamStatements> statements_ =
      std::make_shared<StreamStatements>();
  int tasks_pending_ = 0;  // PostTask tasks posted or running
  bool done_ = false;      // OnDone was called
  common::Executor& executor_;
  AccessLog log_;
  grpc::ByteBuffer raw_request_;  // the read in flight
  v1::InsertRequest request_;     // parsed from it
  v1::InsertResponse response_;
  grpc::ByteBuffer raw_response_;  // the write in flight
  grpc::Status final_status_;
  Stream stream_;
  bulk::Loader loader_;  // last: goes first, while the rest still stands
};

}  // namespace

void BulkInsertServiceImpl::Register(OpenStream* stream) {
  std::lock_guard<std::mutex> lock(streams_mutex_);
  streams_.insert(stream);
}

void BulkInsertServiceImpl::Unregister(OpenStream* stream) {
  std::lock_guard<std::mutex> lock(streams_mutex_);
  streams_.erase(stream);
}

void BulkInsertServiceImpl::EndIdleStreams(absl::Time now) {
  std::lock_guard<std::mutex> lock(streams_mutex_);
  for (OpenStream* stream : streams_) {
    if (now - stream->waiting_since() >= limits_.idle_timeout) {
      stream->EndIdle();
    }
  }
}

bulk::Loader::Caller BulkInsertServiceImpl::LoadCallerOf(
    const auth::Caller* caller) const {
  // No authentication: anyone, any table of the catalog.
  if (caller == nullptr) return {};
  bulk::Loader::Caller load_caller;
  load_caller.subject = caller->subject;
  // An admin: any table.
  if (caller->roles.Has(auth::Role::kAdmin)) return load_caller;
  // The service outlives its streams: no copy of the set per load.
  load_caller.may_write = [tables = &loader_tables_, subject = caller->subject](
                              const std::string& table) -> absl::Status {
    if (tables->count(table) > 0) return absl::OkStatus();
    return absl::PermissionDeniedError(absl::StrCat(
        "caller '", subject, "' may not load into '", table,
        "': a loader may load only into ", absl::StrJoin(*tables, ", "),
        " (AVES_BULK_LOADER_TABLES)"));
  };
  return load_caller;
}

void BulkInsertServiceImpl::RegisterRawInsert() {
  MarkMethodRawCallback(
      MethodIndex(v1::BulkInsertService::service_full_name(), "Insert"),
      new grpc::internal::CallbackBidiHandler<grpc::ByteBuffer,
                                              grpc::ByteBuffer>(
          [this, gate = GateFor(handler_.authorizer,
                                v1::BulkInsertService::service_full_name(),
                                "Insert")](
              grpc::CallbackServerContext* context) -> RawBidiReactor* {
            std::shared_ptr<const auth::Caller> caller;
            if (grpc::Status refused =
                    PassGate(handler_.authorizer, context, gate, &caller);
                !refused.ok()) {
              // PassGate logged it: this reactor's own line would repeat it.
              return new RefusedInsertReactor(std::move(refused),
                                              /*log=*/false);
            }
            if (open_loads_.fetch_add(1) >= limits_.max_loads) {
              open_loads_.fetch_sub(1);
              return new RefusedInsertReactor(
                  ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
                      "server busy: ", limits_.max_loads,
                      " bulk loads are open (AVES_BULK_MAX_LOADS); retry "
                      "later"))));
            }
            return new InsertReactor(context, store_, handler_, limits_, *this,
                                     open_loads_, caller,
                                     LoadCallerOf(caller.get()), metrics_);
          }));
}

}  // namespace aves::handlers
