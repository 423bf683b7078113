#include "server/app/sizing.h"

#include <algorithm>
#include <thread>

namespace aves::app {

Sizes SizesFor(const config::Config& config) {
  const int connections = config.pool.max_connections;
  Sizes sizes;
  sizes.executor_threads = connections;
  sizes.executor_queue =
      static_cast<size_t>(connections + config.pool.max_waiters);
  // Each extra batch in flight is another thread blocked on PostgreSQL and
  // more context switches; on 2 cores one won (ARCHITECTURE.md).
  int tasks = config.lookup_batch_tasks;
  if (tasks == 0) tasks = static_cast<int>(std::thread::hardware_concurrency());
  sizes.lookup_batch_tasks = std::clamp(tasks, 1, connections);
  sizes.bulk_threads = std::clamp(config.bulk_max_connections, 1, connections);
  // A load has at most its parallel batches, a message being parsed and one
  // more task posted.
  sizes.bulk_queue = static_cast<size_t>(config.bulk_max_loads) *
                     static_cast<size_t>(config.bulk_parallel_batches + 2);
  return sizes;
}

}  // namespace aves::app
