// BulkInsertService: the Insert stream. One call is one load, run by a
// bulk::Loader (server/bulk/loader.h has the rules); this handler only
// adapts the gRPC stream to it: messages in, converted; the loader's
// messages out; its blocking work onto the executor.
#ifndef AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_
#define AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_

#include "aves/data/v1/bulk_insert.grpc.pb.h"
#include "server/bulk/load_store.h"
#include "server/bulk/loader.h"
#include "server/handlers/offload.h"

namespace aves::handlers {

class BulkInsertServiceImpl final
    : public aves::data::v1::BulkInsertService::CallbackService {
 public:
  BulkInsertServiceImpl(bulk::LoadStore& store, HandlerContext handler,
                        bulk::LoadLimits limits)
      : store_(store), handler_(handler), limits_(limits) {}

  grpc::ServerBidiReactor<aves::data::v1::InsertRequest,
                          aves::data::v1::InsertResponse>*
  Insert(grpc::CallbackServerContext* context) override;

 private:
  bulk::LoadStore& store_;
  const HandlerContext handler_;
  const bulk::LoadLimits limits_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_
