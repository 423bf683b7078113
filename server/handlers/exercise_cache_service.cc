#include "server/handlers/exercise_cache_service.h"

#include <google/protobuf/duration.pb.h>

#include "server/common/field_error.h"
#include "server/common/status_macros.h"
#include "server/common/validation.h"
#include "server/handlers/access_log.h"
#include "server/handlers/call_context.h"
#include "server/handlers/grpc_status.h"
#include "server/handlers/proto_convert.h"
#include "server/handlers/unparsable_request.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;

namespace {

constexpr char kMethod[] = "ExerciseCacheService.GetExercise";
constexpr char kPutMethod[] = "ExerciseCacheService.PutExercise";
constexpr char kPurgeMethod[] = "ExerciseCacheService.PurgeExpired";

// The fields GetExercise and PutExercise share.
template <typename Request>
absl::StatusOr<store::ExerciseKey> ValidateKey(const Request& request) {
  store::ExerciseKey key;
  common::FieldChecks checks;
  checks.Add(common::ValidateUuid("user_id", request.user_id(), &key.user_id));
  checks.Add(common::ValidateText(
      "exercise_type", request.exercise_type(),
      ExerciseCacheServiceImpl::kMaxExerciseTypeBytes, true));
  key.exercise_type = request.exercise_type();
  checks.Add(common::ValidateRange("difficulty_level",
                                   request.difficulty_level(), 1, 5));
  key.difficulty_level = request.difficulty_level();
  if (request.has_topic()) {
    checks.Add(common::ValidateText("topic", request.topic(),
                                    ExerciseCacheServiceImpl::kMaxTopicBytes,
                                    true));
    key.topic = request.topic();
  }
  RETURN_IF_ERROR(checks.status());
  return key;
}

}  // namespace

void ExerciseCacheServiceImpl::RegisterParseChecked() {
  using Service = v1::ExerciseCacheService;
  AVES_PARSE_CHECKED_UNARY(Service, ExerciseCacheServiceImpl, GetExercise);
  AVES_PARSE_CHECKED_UNARY(Service, ExerciseCacheServiceImpl, PutExercise);
  AVES_PARSE_CHECKED_UNARY(Service, ExerciseCacheServiceImpl, PurgeExpired);
}

grpc::ServerUnaryReactor* ExerciseCacheServiceImpl::GetExercise(
    grpc::CallbackServerContext* context, const v1::GetExerciseRequest* request,
    v1::GetExerciseResponse* response) {
  const absl::Time arrived = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Validation is cheap and touches no database: done here, on gRPC's thread.
  absl::StatusOr<store::ExerciseKey> key = ValidateKey(*request);
  if (!key.ok()) {
    AccessLog log(kMethod, handler_.slow_rpc, arrived);
    reactor->Finish(log.Done(ToGrpcStatus(key.status())));
    return reactor;
  }
  batcher_.Submit(
      *std::move(key), CallContextOf(context, kMethod),
      [this, reactor, response, arrived](LookupBatcher::Result found,
                                         const db::CallStatements& statements) {
        AccessLog log(kMethod, handler_.slow_rpc, arrived);
        log.set_statements(statements.count, statements.time);
        if (!found.ok()) {
          reactor->Finish(log.Done(ToGrpcStatus(found.status())));
        } else if (!found->has_value()) {
          reactor->Finish(log.Done(ToGrpcStatus(absl::NotFoundError(
              "no unexpired exercise for this user, type, difficulty and "
              "topic"))));
        } else {
          ToProto(**found, response->mutable_exercise());
          reactor->Finish(log.Done(grpc::Status::OK, 1));
        }
      });
  return reactor;
}

grpc::ServerUnaryReactor* ExerciseCacheServiceImpl::PutExercise(
    grpc::CallbackServerContext* context, const v1::PutExerciseRequest* request,
    v1::PutExerciseResponse* response) {
  return OffloadLogged(handler_, context, kPutMethod, [=](int64_t* rows) {
    store::NewExercise entry;
    common::FieldChecks checks;
    absl::StatusOr<store::ExerciseKey> key = ValidateKey(*request);
    checks.Add(key.status());
    checks.Add(common::ValidateJson("exercise_data", request->exercise_data(),
                                    kMaxExerciseDataBytes,
                                    common::JsonShape::kObjectOrArray, true));
    entry.exercise_data = request->exercise_data();
    if (request->has_ttl()) {
      // Checked in its own fields first: a converted value could overflow.
      constexpr int64_t kMaxSeconds = int64_t{365} * 24 * 3600;
      const google::protobuf::Duration& ttl = request->ttl();
      if (ttl.seconds() < 0 || ttl.seconds() > kMaxSeconds || ttl.nanos() < 0 ||
          ttl.nanos() > 999'999'999 ||
          (ttl.seconds() == 0 && ttl.nanos() == 0) ||
          (ttl.seconds() == kMaxSeconds && ttl.nanos() > 0)) {
        checks.Add(common::InvalidField(
            "ttl", "must be positive and at most 365 days"));
      } else {
        entry.ttl =
            absl::Seconds(ttl.seconds()) + absl::Nanoseconds(ttl.nanos());
      }
    }
    RETURN_IF_ERROR(checks.status());
    entry.key = *std::move(key);
    ASSIGN_OR_RETURN(store::ExerciseEntry stored,
                     store_.Put(CallContextOf(context, kPutMethod), entry));
    ToProto(stored, response->mutable_exercise());
    *rows = 1;
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ExerciseCacheServiceImpl::PurgeExpired(
    grpc::CallbackServerContext* context,
    const v1::PurgeExpiredRequest* request,
    v1::PurgeExpiredResponse* response) {
  return OffloadLogged(handler_, context, kPurgeMethod, [=](int64_t* rows) {
    if (request->max_rows() < 0)
      return common::InvalidField("max_rows", "must not be negative");
    ASSIGN_OR_RETURN(store::PurgeResult result,
                     store_.PurgeExpired(CallContextOf(context, kPurgeMethod),
                                         request->max_rows()));
    response->set_deleted(result.deleted);
    response->set_batches(result.batches);
    *rows = result.deleted;
    return absl::OkStatus();
  });
}

}  // namespace aves::handlers
