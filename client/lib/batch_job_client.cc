#include "client/lib/batch_job_client.h"

namespace aves::client {

namespace v1 = data::v1;

BatchJobClient::BatchJobClient(std::shared_ptr<grpc::Channel> channel,
                               CallOptions options)
    : stub_(v1::BatchJobService::NewStub(channel)), options_(options) {}

absl::StatusOr<v1::ListJobsResponse> BatchJobClient::ListJobs(
    const v1::ListJobsRequest& request) {
  return UnaryCall<v1::ListJobsResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->ListJobs(context, request, response);
      });
}

absl::StatusOr<v1::Job> BatchJobClient::GetJob(const std::string& id) {
  v1::GetJobRequest request;
  request.set_id(id);
  absl::StatusOr<v1::GetJobResponse> response = UnaryCall<v1::GetJobResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* out) {
        return stub_->GetJob(context, request, out);
      });
  if (!response.ok()) return response.status();
  return response->job();
}

absl::StatusOr<v1::ListJobErrorsResponse> BatchJobClient::ListJobErrors(
    const v1::ListJobErrorsRequest& request) {
  return UnaryCall<v1::ListJobErrorsResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->ListJobErrors(context, request, response);
      });
}

absl::StatusOr<v1::Job> BatchJobClient::CreateJob(
    const v1::CreateJobRequest& request) {
  absl::StatusOr<v1::CreateJobResponse> response =
      UnaryCall<v1::CreateJobResponse>(
          options_, Idempotency::kWrite, [&](auto* context, auto* out) {
            return stub_->CreateJob(context, request, out);
          });
  if (!response.ok()) return response.status();
  return response->job();
}

absl::StatusOr<v1::Job> BatchJobClient::UpdateJobProgress(
    const v1::UpdateJobProgressRequest& request) {
  absl::StatusOr<v1::UpdateJobProgressResponse> response =
      UnaryCall<v1::UpdateJobProgressResponse>(
          options_, Idempotency::kWrite, [&](auto* context, auto* out) {
            return stub_->UpdateJobProgress(context, request, out);
          });
  if (!response.ok()) return response.status();
  return response->job();
}

absl::StatusOr<int64_t> BatchJobClient::AppendJobErrors(
    const v1::AppendJobErrorsRequest& request) {
  absl::StatusOr<v1::AppendJobErrorsResponse> response =
      UnaryCall<v1::AppendJobErrorsResponse>(
          options_, Idempotency::kWrite, [&](auto* context, auto* out) {
            return stub_->AppendJobErrors(context, request, out);
          });
  if (!response.ok()) return response.status();
  return response->appended();
}

absl::Status BatchJobClient::WatchJobs(
    const v1::WatchJobsRequest& request,
    const std::function<bool(const v1::WatchJobsResponse&)>& on_event) {
  grpc::ClientContext context;
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    watch_context_ = &context;
  }
  std::unique_ptr<grpc::ClientReader<v1::WatchJobsResponse>> reader =
      stub_->WatchJobs(&context, request);
  v1::WatchJobsResponse event;
  bool stopped_by_caller = false;
  while (reader->Read(&event)) {
    if (!on_event(event)) {
      stopped_by_caller = true;
      context.TryCancel();
      while (reader->Read(&event)) {
      }
      break;
    }
  }
  grpc::Status status = reader->Finish();
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    watch_context_ = nullptr;
  }
  if (stopped_by_caller) return absl::OkStatus();
  return FromGrpcStatus(status);
}

void BatchJobClient::CancelWatch() {
  std::lock_guard<std::mutex> lock(watch_mutex_);
  if (watch_context_ != nullptr) watch_context_->TryCancel();
}

}  // namespace aves::client
