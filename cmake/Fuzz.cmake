# The libFuzzer targets (ARCHITECTURE.md, "Fuzzing"), built alone in
# build/fuzz by clang with -DAVES_FUZZ=ON: fuzz/NAME_fuzz.cc becomes
# NAME_fuzz. Each links the sources it decodes with and the bottom layers
# (abseil, OpenSSL, spdlog), never gRPC or libpqxx, so a clang build stays
# small.
find_package(nlohmann_json CONFIG REQUIRED)  # json_syntax's second opinion

# aves_fuzzer(NAME [SOURCES file...] [LIBS lib...])
function(aves_fuzzer name)
  cmake_parse_arguments(FUZZ "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name}_fuzz ${CMAKE_SOURCE_DIR}/fuzz/${name}_fuzz.cc ${FUZZ_SOURCES})
  target_include_directories(${name}_fuzz PRIVATE ${CMAKE_SOURCE_DIR})
  target_link_libraries(${name}_fuzz PRIVATE ${FUZZ_LIBS} aves_warnings)
  target_link_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
endfunction()

aves_fuzzer(copy_text
  SOURCES ${CMAKE_SOURCE_DIR}/server/bulk/copy_text.cc
          ${CMAKE_SOURCE_DIR}/server/bulk/row_encoder.cc
          ${CMAKE_SOURCE_DIR}/server/store/timestamps.cc
  LIBS aves_observability aves_common)
aves_fuzzer(json_syntax LIBS aves_common nlohmann_json::nlohmann_json)
aves_fuzzer(page_token
  SOURCES ${CMAKE_SOURCE_DIR}/server/handlers/page_token.cc
  LIBS aves_common)
aves_fuzzer(token_verifier
  SOURCES ${CMAKE_SOURCE_DIR}/server/auth/token_verifier.cc
          ${CMAKE_SOURCE_DIR}/server/auth/roles.cc
  LIBS aves_common PkgConfig::JWT PkgConfig::JANSSON OpenSSL::Crypto)
aves_fuzzer(migration_file
  SOURCES ${CMAKE_SOURCE_DIR}/server/db/migration_file.cc ${AVES_EMBEDDED_MIGRATIONS_CC}
  LIBS aves_common)

# avesctl's row files produce the bulk API's messages: only that file's
# generated code, without the gRPC stubs. (protoc is run here directly:
# protobuf_generate names outputs after this directory, not proto/.)
set(AVES_FUZZ_PROTO_OUT ${CMAKE_BINARY_DIR}/fuzz_proto)
set(AVES_FUZZ_PROTO ${CMAKE_SOURCE_DIR}/proto/aves/data/v1/bulk_insert.proto)
set(AVES_FUZZ_PROTO_GEN ${AVES_FUZZ_PROTO_OUT}/aves/data/v1/bulk_insert.pb)
file(MAKE_DIRECTORY ${AVES_FUZZ_PROTO_OUT})
add_custom_command(
  OUTPUT ${AVES_FUZZ_PROTO_GEN}.cc ${AVES_FUZZ_PROTO_GEN}.h
  COMMAND ${Protobuf_PROTOC_EXECUTABLE} --cpp_out=${AVES_FUZZ_PROTO_OUT}
          -I ${CMAKE_SOURCE_DIR}/proto ${AVES_FUZZ_PROTO}
  DEPENDS ${AVES_FUZZ_PROTO}
  COMMENT "Generating bulk_insert.pb.cc for the row_files fuzzer")
add_library(aves_fuzz_bulk_proto STATIC ${AVES_FUZZ_PROTO_GEN}.cc)
target_include_directories(aves_fuzz_bulk_proto PUBLIC ${AVES_FUZZ_PROTO_OUT})
target_link_libraries(aves_fuzz_bulk_proto PUBLIC protobuf::libprotobuf)
aves_fuzzer(row_files
  SOURCES ${CMAKE_SOURCE_DIR}/client/lib/row_files.cc
  LIBS aves_fuzz_bulk_proto absl::status absl::statusor absl::strings)
