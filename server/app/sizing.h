// The sizes avesd derives from its settings, computed in one place: how many
// executor threads and queued calls, how many lookup batches in flight and
// lookups waiting.
#ifndef AVES_SERVER_APP_SIZING_H_
#define AVES_SERVER_APP_SIZING_H_

#include <cstddef>

#include "server/config/config.h"

namespace aves::app {

struct Sizes {
  // As many threads run database work as there are connections to run it
  // on; the queue beyond them is bounded like the pool's own wait queue.
  int executor_threads = 0;
  size_t executor_queue = 0;
  // Lookup batches in flight (AVES_LOOKUP_BATCH_TASKS; 0: one per core),
  // never more than there are connections.
  int lookup_batch_tasks = 0;
  // Bulk loads' own executor: one thread per connection they may use
  // (AVES_BULK_MAX_CONNECTIONS), so at most that many are theirs; room in
  // its queue for every load's commits and bookkeeping at once.
  int bulk_threads = 0;
  size_t bulk_queue = 0;
  // Its threads (parsing, encoding and committing rows) run at this nice
  // value: under CPU contention, lookups go first.
  int bulk_nice = 10;
};

Sizes SizesFor(const config::Config& config);

}  // namespace aves::app

#endif  // AVES_SERVER_APP_SIZING_H_
