#include "client/lib/admin_client.h"

#include <utility>

namespace aves::client {

namespace v1 = data::v1;

AdminClient::AdminClient(std::shared_ptr<grpc::Channel> channel,
                         CallOptions options)
    : stub_(v1::AdminService::NewStub(std::move(channel))), options_(options) {}

absl::StatusOr<v1::GetPoolStatsResponse> AdminClient::GetPoolStats() {
  return UnaryCall<v1::GetPoolStatsResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->GetPoolStats(context, {}, response);
      });
}

absl::StatusOr<v1::GetCacheStatsResponse> AdminClient::GetCacheStats() {
  return UnaryCall<v1::GetCacheStatsResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->GetCacheStats(context, {}, response);
      });
}

absl::StatusOr<v1::RunAnalyzeResponse> AdminClient::RunAnalyze(
    const std::string& table, bool dry_run) {
  v1::RunAnalyzeRequest request;
  if (!table.empty()) request.set_table(table);
  request.set_dry_run(dry_run);
  return UnaryCall<v1::RunAnalyzeResponse>(
      options_, dry_run ? Idempotency::kRead : Idempotency::kWrite,
      [&](auto* context, auto* response) {
        return stub_->RunAnalyze(context, request, response);
      });
}

absl::StatusOr<v1::ReindexIndexResponse> AdminClient::ReindexIndex(
    const std::string& index) {
  v1::ReindexIndexRequest request;
  request.set_index(index);
  return UnaryCall<v1::ReindexIndexResponse>(
      options_, Idempotency::kWrite, [&](auto* context, auto* response) {
        return stub_->ReindexIndex(context, request, response);
      });
}

absl::StatusOr<v1::GetIndexHealthResponse> AdminClient::GetIndexHealth() {
  return UnaryCall<v1::GetIndexHealthResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->GetIndexHealth(context, {}, response);
      });
}

absl::StatusOr<v1::GetMigrationStatusResponse>
AdminClient::GetMigrationStatus() {
  return UnaryCall<v1::GetMigrationStatusResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->GetMigrationStatus(context, {}, response);
      });
}

absl::StatusOr<v1::VerifyIndexesResponse> AdminClient::VerifyIndexes() {
  return UnaryCall<v1::VerifyIndexesResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->VerifyIndexes(context, {}, response);
      });
}

absl::StatusOr<v1::ListSlowQueriesResponse> AdminClient::ListSlowQueries(
    int limit) {
  v1::ListSlowQueriesRequest request;
  request.set_limit(limit);
  return UnaryCall<v1::ListSlowQueriesResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->ListSlowQueries(context, request, response);
      });
}

absl::StatusOr<v1::GetQueryStatsResponse> AdminClient::GetQueryStats(
    v1::GetQueryStatsRequest::Order order, int limit) {
  v1::GetQueryStatsRequest request;
  request.set_order_by(order);
  request.set_limit(limit);
  return UnaryCall<v1::GetQueryStatsResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->GetQueryStats(context, request, response);
      });
}

}  // namespace aves::client
