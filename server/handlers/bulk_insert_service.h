// BulkInsertService: the Insert stream. One call is one load, run by a
// bulk::Loader (server/bulk/loader.h has the rules); this handler only
// adapts the gRPC stream to it: messages in, converted; the loader's
// messages out; its blocking work onto the executor. The stream's messages
// are read as bytes and parsed here: gRPC reports a message that does not
// parse exactly like the client's half-close (a failed read), and a load
// must never complete on one.
//
// At most limits.max_loads streams are open at once: one more is refused at
// once with RESOURCE_EXHAUSTED naming AVES_BULK_MAX_LOADS.
#ifndef AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_
#define AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_

#include <atomic>

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
      : store_(store), handler_(handler), limits_(limits) {
    RegisterRawInsert();
  }

 private:
  void RegisterRawInsert();

  bulk::LoadStore& store_;
  const HandlerContext handler_;
  const bulk::LoadLimits limits_;
  std::atomic<int> open_loads_{0};
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_
