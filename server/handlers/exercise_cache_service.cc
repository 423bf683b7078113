#include "server/handlers/exercise_cache_service.h"

#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
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
constexpr char kBatchGetMethod[] = "ExerciseCacheService.BatchGetExercises";
constexpr char kPurgeMethod[] = "ExerciseCacheService.PurgeExpired";

// The fields GetExercise and PutExercise share.
// `prefix` names where the key sits ("requests[3]." in a batch).
template <typename Request>
absl::StatusOr<store::ExerciseKey> ValidateKey(const Request& request,
                                               absl::string_view prefix = "") {
  store::ExerciseKey key;
  common::FieldChecks checks;
  auto field = [prefix](const char* name) {
    return absl::StrCat(prefix, name);
  };
  checks.Add(
      common::ValidateUuid(field("user_id"), request.user_id(), &key.user_id));
  checks.Add(common::ValidateText(
      field("exercise_type"), request.exercise_type(),
      ExerciseCacheServiceImpl::kMaxExerciseTypeBytes, true));
  key.exercise_type = request.exercise_type();
  checks.Add(common::ValidateRange(field("difficulty_level"),
                                   request.difficulty_level(), 1, 5));
  key.difficulty_level = request.difficulty_level();
  if (request.has_topic()) {
    checks.Add(common::ValidateText(field("topic"), request.topic(),
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
  AVES_PARSE_CHECKED_UNARY(Service, ExerciseCacheServiceImpl,
                           BatchGetExercises);
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
  lookups_.Get(
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

grpc::ServerUnaryReactor* ExerciseCacheServiceImpl::BatchGetExercises(
    grpc::CallbackServerContext* context,
    const v1::BatchGetExercisesRequest* request,
    v1::BatchGetExercisesResponse* response) {
  const absl::Time arrived = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto refuse = [&](const absl::Status& status) {
    AccessLog log(kBatchGetMethod, handler_.slow_rpc, arrived);
    reactor->Finish(log.Done(ToGrpcStatus(status)));
    return reactor;
  };
  if (request->requests_size() > max_batch_get_) {
    return refuse(common::InvalidField(
        "requests",
        absl::StrCat("at most ", max_batch_get_, " keys, not ",
                     request->requests_size(), " (AVES_BATCH_GET_MAX)")));
  }
  // Every bad key is named, up to a few: the refusal stays small whatever
  // the request held.
  constexpr int kMostBadKeysNamed = 10;
  std::vector<store::ExerciseKey> keys;
  keys.reserve(request->requests_size());
  common::FieldChecks checks;
  int bad_keys = 0;
  for (int i = 0; i < request->requests_size() && bad_keys < kMostBadKeysNamed;
       ++i) {
    absl::StatusOr<store::ExerciseKey> key =
        ValidateKey(request->requests(i), absl::StrCat("requests[", i, "]."));
    checks.Add(key.status());
    if (!key.ok()) {
      ++bad_keys;
    } else {
      keys.push_back(*std::move(key));
    }
  }
  if (absl::Status invalid = checks.status(); !invalid.ok()) {
    return refuse(invalid);
  }
  lookups_.GetMany(
      std::move(keys), CallContextOf(context, kBatchGetMethod),
      [this, reactor, response, arrived](
          absl::StatusOr<std::vector<LookupBatcher::Result>> found,
          const db::CallStatements& statements) {
        AccessLog log(kBatchGetMethod, handler_.slow_rpc, arrived);
        log.set_statements(statements.count, statements.time);
        if (!found.ok()) {
          reactor->Finish(log.Done(ToGrpcStatus(found.status())));
          return;
        }
        int64_t hits = 0;
        for (LookupBatcher::Result& result : *found) {
          // A row the API cannot represent fails the call, as for one key.
          if (!result.ok()) {
            reactor->Finish(log.Done(ToGrpcStatus(result.status())));
            return;
          }
          v1::ExerciseResult* out = response->add_results();
          if (result->has_value()) {
            out->set_found(true);
            ToProto(**result, out->mutable_exercise());
            ++hits;
          }
        }
        reactor->Finish(log.Done(grpc::Status::OK, hits));
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
    absl::StatusOr<store::ExerciseEntry> stored =
        store_.Put(CallContextOf(context, kPutMethod), entry);
    // Whatever the outcome (a failed commit may still have committed), the
    // learner's cached answers go before the caller hears back.
    cache_.InvalidateUsers({entry.key.user_id});
    if (!stored.ok()) return stored.status();
    ToProto(*stored, response->mutable_exercise());
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
