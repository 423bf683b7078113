#include "client/lib/exercise_cache_client.h"

#include <future>
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

ExerciseCacheClient::ExerciseCacheClient(std::shared_ptr<grpc::Channel> channel,
                                         CallOptions options,
                                         Coalescing coalescing)
    : stub_(v1::ExerciseCacheService::NewStub(channel)), options_(options) {
  if (coalescing.enabled) {
    coalescing.options.max_attempts = options.max_attempts;
    coalescer_ =
        std::make_unique<LookupCoalescer>(stub_.get(), coalescing.options);
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
  // Without coalescing: one GetExercise on gRPC's callback API (not retried).
  struct Single {
    grpc::ClientContext context;
    v1::GetExerciseRequest request;
    v1::GetExerciseResponse response;
  };
  auto single = std::make_shared<Single>();
  single->request = request;
  single->context.set_deadline(
      absl::ToChronoTime(absl::Now() + options_.timeout));
  stub_->async()->GetExercise(
      &single->context, &single->request, &single->response,
      [single, done = std::move(done)](grpc::Status status) {
        if (status.ok()) {
          done(single->response.exercise());
        } else {
          done(FromGrpcStatus(status));
        }
      });
  return [weak = std::weak_ptr<Single>(single)] {
    if (auto alive = weak.lock()) alive->context.TryCancel();
  };
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
