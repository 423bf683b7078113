#include "client/lib/exercise_cache_client.h"

#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <absl/time/clock.h>

#include "client/lib/channel.h"

namespace aves::client {

namespace v1 = data::v1;

namespace {

absl::StatusOr<v1::Exercise> AsExercise(LookupCoalescer::Result result) {
  if (!result.ok()) return result.status();
  if (!result->has_value()) {
    return absl::NotFoundError(
        "no unexpired exercise for this user, type, difficulty and topic");
  }
  return **std::move(result);
}

}  // namespace

class ExerciseCacheClient::SingleCalls {
 public:
  using Done = std::function<void(absl::StatusOr<v1::Exercise>)>;

  SingleCalls() : poller_([this] { Poll(); }) {}

  ~SingleCalls() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (const std::shared_ptr<Call>& call : out_) call->context.TryCancel();
    drained_.wait(lock, [this] { return out_.empty(); });
    lock.unlock();
    queue_.Shutdown();
    poller_.join();
  }

  std::function<void()> Start(v1::ExerciseCacheService::Stub& stub,
                              const v1::GetExerciseRequest& request,
                              absl::Time deadline, Done done) {
    auto call = std::make_shared<Call>();
    call->request = request;
    call->done = std::move(done);
    call->context.set_deadline(absl::ToChronoTime(deadline));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      out_.insert(call);
    }
    call->reader =
        stub.PrepareAsyncGetExercise(&call->context, call->request, &queue_);
    call->reader->StartCall();
    // The tag holds the call until Poll has answered it.
    call->reader->Finish(&call->response, &call->status,
                         new std::shared_ptr<Call>(call));
    return [weak = std::weak_ptr<Call>(call)] {
      if (auto alive = weak.lock()) alive->context.TryCancel();
    };
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::GetExerciseRequest request;
    v1::GetExerciseResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::GetExerciseResponse>>
        reader;
    Done done;
  };

  void Poll() {
    void* tag = nullptr;
    bool ok = false;
    while (queue_.Next(&tag, &ok)) {
      std::unique_ptr<std::shared_ptr<Call>> call(
          static_cast<std::shared_ptr<Call>*>(tag));
      Call& answered = **call;
      if (answered.status.ok()) {
        answered.done(answered.response.exercise());
      } else {
        answered.done(FromGrpcStatus(answered.status));
      }
      std::lock_guard<std::mutex> lock(mutex_);
      out_.erase(*call);
      if (out_.empty()) drained_.notify_all();
    }
  }

  grpc::CompletionQueue queue_;
  std::mutex mutex_;
  std::condition_variable drained_;
  std::set<std::shared_ptr<Call>> out_;  // mutex_
  std::thread poller_;                   // last: starts once the rest exists
};

ExerciseCacheClient::~ExerciseCacheClient() = default;

ExerciseCacheClient::ExerciseCacheClient(std::shared_ptr<grpc::Channel> channel,
                                         CallOptions options,
                                         Coalescing coalescing)
    : stub_(v1::ExerciseCacheService::NewStub(channel)), options_(options) {
  if (coalescing.enabled) {
    coalescing.options.max_attempts = options.max_attempts;
    coalescer_ =
        std::make_unique<LookupCoalescer>(stub_.get(), coalescing.options);
  } else {
    single_calls_ = std::make_unique<SingleCalls>();
  }
}

std::function<void()> ExerciseCacheClient::GetExerciseAsync(
    const v1::GetExerciseRequest& request,
    std::function<void(absl::StatusOr<v1::Exercise>)> done) {
  if (coalescer_ != nullptr) {
    LookupCoalescer::Ticket ticket = coalescer_->Get(
        request, absl::Now() + options_.timeout,
        [done = std::move(done)](LookupCoalescer::Result result) {
          done(AsExercise(std::move(result)));
        });
    // The client outlives its calls' cancellers by contract (header).
    return [coalescer = coalescer_.get(), ticket = std::move(ticket)] {
      coalescer->Cancel(ticket);
    };
  }
  // Without coalescing: one GetExercise (not retried).
  return single_calls_->Start(*stub_, request, absl::Now() + options_.timeout,
                              std::move(done));
}

absl::StatusOr<v1::Exercise> ExerciseCacheClient::GetExercise(
    const v1::GetExerciseRequest& request) {
  return GetExercise(request, options_.timeout);
}

absl::StatusOr<v1::Exercise> ExerciseCacheClient::GetExercise(
    const v1::GetExerciseRequest& request, absl::Duration timeout) {
  if (coalescer_ != nullptr) {
    std::promise<absl::StatusOr<v1::Exercise>> answered;
    std::future<absl::StatusOr<v1::Exercise>> answer = answered.get_future();
    coalescer_->Get(request, absl::Now() + timeout,
                    [&answered](LookupCoalescer::Result result) {
                      answered.set_value(AsExercise(std::move(result)));
                    });
    return answer.get();
  }
  CallOptions own = options_;
  own.timeout = timeout;
  absl::StatusOr<v1::GetExerciseResponse> response =
      UnaryCall<v1::GetExerciseResponse>(
          own, Idempotency::kRead, [&](auto* context, auto* out) {
            return stub_->GetExercise(context, request, out);
          });
  if (!response.ok()) return response.status();
  return response->exercise();
}

absl::StatusOr<v1::BatchGetExercisesResponse>
ExerciseCacheClient::BatchGetExercises(
    const v1::BatchGetExercisesRequest& request) {
  return UnaryCall<v1::BatchGetExercisesResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* out) {
        return stub_->BatchGetExercises(context, request, out);
      });
}

absl::StatusOr<v1::Exercise> ExerciseCacheClient::PutExercise(
    const v1::PutExerciseRequest& request) {
  absl::StatusOr<v1::PutExerciseResponse> response =
      UnaryCall<v1::PutExerciseResponse>(
          options_, Idempotency::kWrite, [&](auto* context, auto* out) {
            return stub_->PutExercise(context, request, out);
          });
  if (!response.ok()) return response.status();
  return response->exercise();
}

absl::StatusOr<v1::PurgeExpiredResponse> ExerciseCacheClient::PurgeExpired(
    int64_t max_rows) {
  v1::PurgeExpiredRequest request;
  request.set_max_rows(max_rows);
  return UnaryCall<v1::PurgeExpiredResponse>(
      options_, Idempotency::kWrite, [&](auto* context, auto* response) {
        return stub_->PurgeExpired(context, request, response);
      });
}

}  // namespace aves::client
