#!/bin/sh
# Generates src/gen/ (TypeScript types, codecs and grpc-js service
# definitions) from the project's protos with ts-proto, at every build:
# nothing generated is committed. Options, and why:
#   forceLong=bigint   int64 as bigint: lossless (job counts, row offsets)
#   useDate=true       google.protobuf.Timestamp as Date
#   outputServices=grpc-js  service definitions for @grpc/grpc-js
#   useOptionals=messages   absent sub-messages are `undefined`, not defaults
#   stringEnums=true   enums as their proto names ("JOB_STATUS_COMPLETED")
set -eu
cd "$(dirname "$0")/.."
protos=../../proto
rm -rf src/gen
mkdir -p src/gen
protoc -I "$protos" \
  --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out=src/gen \
  --ts_proto_opt=outputServices=grpc-js,forceLong=bigint,useDate=true,useOptionals=messages,stringEnums=true,esModuleInterop=true,env=node,unrecognizedEnum=false \
  $(cd "$protos" && find aves grpc google -name '*.proto' | sort)
