// Requests that are not the method's message — random bytes, a truncated
// varint, invalid UTF-8 in a string field — sent as raw bytes to every
// method: each is INVALID_ARGUMENT saying it cannot be parsed (gRPC's
// callback API alone answers UNIMPLEMENTED, as if the method did not exist).
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "aves/data/v1/bulk_insert.pb.h"
#include "client/lib/bulk_insert_client.h"
#include "tests/support/in_process_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

using ::testing::HasSubstr;

grpc::ByteBuffer Bytes(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::chrono::system_clock::time_point InTenSeconds() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

// One unary call of `method` with `payload` as its raw request.
grpc::Status CallUnary(grpc::GenericStub& stub, const std::string& method,
                       const std::string& payload) {
  grpc::ClientContext context;
  context.set_deadline(InTenSeconds());
  grpc::CompletionQueue queue;
  const grpc::ByteBuffer request = Bytes(payload);
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(&context, method, request, &queue);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(queue.Next(&tag, &ok));
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return status;
}

// A streaming call of `method` sending `payloads` as its messages, then a
// half-close.
grpc::Status CallStreaming(grpc::GenericStub& stub, const std::string& method,
                           const std::vector<std::string>& payloads) {
  grpc::ClientContext context;
  context.set_deadline(InTenSeconds());
  grpc::CompletionQueue queue;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, method, &queue);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](int expected_tag) {
    EXPECT_TRUE(queue.Next(&tag, &ok));
    EXPECT_EQ(tag, reinterpret_cast<void*>(expected_tag));
  };
  call->StartCall(reinterpret_cast<void*>(1));
  step(1);
  for (const std::string& payload : payloads) {
    call->Write(Bytes(payload), reinterpret_cast<void*>(2));
    step(2);
  }
  call->WritesDone(reinterpret_cast<void*>(3));
  step(3);
  // Whatever the server sent before its status is not of interest here.
  grpc::ByteBuffer message;
  for (;;) {
    call->Read(&message, reinterpret_cast<void*>(4));
    step(4);
    if (!ok) break;
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return status;
}

class UnparsableRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("unparsable");
    ASSERT_OK(database);
    database_ = *std::move(database);
    auto server = testing::InProcessServer::Start(database_->conninfo());
    ASSERT_OK(server);
    server_ = *std::move(server);
    stub_ = std::make_unique<grpc::GenericStub>(server_->channel());
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<testing::InProcessServer> server_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

const std::vector<std::string>& UnaryMethods() {
  static const std::vector<std::string> methods = {
      "/aves.data.v1.AdminService/GetMigrationStatus",
      "/aves.data.v1.AdminService/GetPoolStats",
      "/aves.data.v1.AdminService/VerifyIndexes",
      "/aves.data.v1.AnnotationService/ListImageAnnotations",
      "/aves.data.v1.AnnotationService/ListAnnotationsByStatus",
      "/aves.data.v1.AnnotationService/ReviewAnnotation",
      "/aves.data.v1.BatchJobService/ListJobs",
      "/aves.data.v1.BatchJobService/GetJob",
      "/aves.data.v1.BatchJobService/ListJobErrors",
      "/aves.data.v1.BatchJobService/CreateJob",
      "/aves.data.v1.BatchJobService/UpdateJobProgress",
      "/aves.data.v1.BatchJobService/AppendJobErrors",
      "/aves.data.v1.ExerciseCacheService/GetExercise",
      "/aves.data.v1.ExerciseCacheService/PutExercise",
      "/aves.data.v1.ExerciseCacheService/PurgeExpired",
  };
  return methods;
}

// Bytes no message parses: a tag of field 0, and a varint cut short.
const std::vector<std::string>& BadPayloads() {
  static const std::vector<std::string> payloads = {
      std::string("\x00\xff\xfe\xfd", 4), std::string("\x10\xff", 2)};
  return payloads;
}

// The request type of `method` ("/package.Service/Method") holds a string
// field: a payload setting it to invalid UTF-8 (empty when it has none).
std::string InvalidUtf8Payload(const std::string& method) {
  const size_t slash = method.rfind('/');
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          method.substr(1, slash - 1));
  if (service == nullptr) return "";
  const google::protobuf::MethodDescriptor* found =
      service->FindMethodByName(method.substr(slash + 1));
  if (found == nullptr) return "";
  const google::protobuf::Descriptor* input = found->input_type();
  for (int i = 0; i < input->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = input->field(i);
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_STRING ||
        field->number() > 15) {
      continue;
    }
    const char tag = static_cast<char>((field->number() << 3) | 2);
    return std::string({tag, '\x02', '\xc3', '\x28'});
  }
  return "";
}

TEST_F(UnparsableRequestTest, EveryUnaryMethodAnswersInvalidArgument) {
  for (const std::string& method : UnaryMethods()) {
    std::vector<std::string> payloads = BadPayloads();
    if (const std::string utf8 = InvalidUtf8Payload(method); !utf8.empty()) {
      payloads.push_back(utf8);
    }
    for (const std::string& payload : payloads) {
      const grpc::Status status = CallUnary(*stub_, method, payload);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << method << " " << ::testing::PrintToString(payload) << ": "
          << status.error_message();
      EXPECT_THAT(status.error_message(), HasSubstr("cannot parse the request"))
          << method;
    }
  }
  // An empty message still parses (every field at its default), and is
  // answered by the method itself.
  EXPECT_TRUE(
      CallUnary(*stub_, "/aves.data.v1.AdminService/GetPoolStats", "").ok());
  EXPECT_EQ(CallUnary(*stub_, "/aves.data.v1.BatchJobService/GetJob", "")
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // An unknown method is what UNIMPLEMENTED is for.
  EXPECT_EQ(CallUnary(*stub_, "/aves.data.v1.AdminService/NoSuchMethod", "")
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(UnparsableRequestTest, StreamsAnswerInvalidArgumentToo) {
  std::vector<std::string> payloads = BadPayloads();
  payloads.push_back(
      InvalidUtf8Payload("/aves.data.v1.BatchJobService/WatchJobs"));
  ASSERT_FALSE(payloads.back().empty());
  for (const std::string& payload : payloads) {
    const grpc::Status watch = CallStreaming(
        *stub_, "/aves.data.v1.BatchJobService/WatchJobs", {payload});
    EXPECT_EQ(watch.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << watch.error_message();
    EXPECT_THAT(watch.error_message(), HasSubstr("cannot parse the request"));
    const grpc::Status insert = CallStreaming(
        *stub_, "/aves.data.v1.BulkInsertService/Insert", {payload});
    EXPECT_EQ(insert.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << insert.error_message();
  }
}

TEST_F(UnparsableRequestTest, ALoadEndingInAnUnparsableMessageIsResumable) {
  // Rows 0-9 go in good messages, then bytes that are no InsertRequest:
  // not a half-close, so the load must not complete with what it has.
  data::v1::InsertHeader header;
  header.set_table("exercise_cache");
  for (const char* column :
       {"user_id", "exercise_type", "difficulty_level", "exercise_data"}) {
    header.add_columns(column);
  }
  header.set_mode(data::v1::INSERT_MODE_INSERT);
  header.set_batch_size(5);
  header.set_load_id("garbled-load");
  auto fill = [](int64_t i, data::v1::Row* row) {
    row->add_cells()->set_uuid_value("00000000-0000-4000-8000-000000000001");
    row->add_cells()->set_string_value("t" + std::to_string(i));
    row->add_cells()->set_int64_value(1);
    row->add_cells()->set_json_value("{}");
  };
  data::v1::InsertRequest first;
  *first.mutable_header() = header;
  data::v1::InsertRequest chunk;
  for (int64_t i = 0; i < 10; ++i) fill(i, chunk.mutable_rows()->add_rows());
  const grpc::Status garbled =
      CallStreaming(*stub_, "/aves.data.v1.BulkInsertService/Insert",
                    {first.SerializeAsString(), chunk.SerializeAsString(),
                     std::string("\x00\xff\xfe\xfd", 4)});
  EXPECT_FALSE(garbled.ok());
  auto sql = database_->Connect();
  const std::string job_status =
      pqxx::nontransaction(*sql)
          .exec1(
              "SELECT j.status FROM bulk_loads l JOIN batch_jobs j ON "
              "j.id = l.job_id WHERE l.load_id = 'garbled-load'")[0]
          .as<std::string>();
  EXPECT_NE(job_status, "completed") << garbled.error_message();
  // Resumed with the same id: every row exactly once.
  client::BulkInsertClient loader(server_->channel());
  ASSERT_OK(loader.Load(header, [&](int64_t i, data::v1::Row* row) {
    if (i >= 20) return false;
    fill(i, row);
    return true;
  }));
  EXPECT_EQ(pqxx::nontransaction(*sql)
                .exec1("SELECT count(*) FROM exercise_cache")[0]
                .as<int64_t>(),
            20);
  EXPECT_EQ(pqxx::nontransaction(*sql)
                .exec1("SELECT count(DISTINCT exercise_type) FROM "
                       "exercise_cache")[0]
                .as<int64_t>(),
            20);
}

}  // namespace
}  // namespace aves
