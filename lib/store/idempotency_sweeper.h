// IdempotencyKeySweeper: forgets request_ids older than the retention period
// (config idempotency_retention_days, default 30), so idempotency_keys does
// not grow for ever. Runs at start and then every `interval` on its own
// thread (a delivery::BackgroundLoop), deleting in batches of separate
// writes so it never holds the writer for long; the age comes from the injected clock. A retry
// after its key was swept is a new request (docs/storage.md). Thread-safe; Stop() is idempotent.
#ifndef DSAR_LIB_STORE_IDEMPOTENCY_SWEEPER_H_
#define DSAR_LIB_STORE_IDEMPOTENCY_SWEEPER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/core/clock.h"
#include "lib/delivery/background_loop.h"
#include "lib/store/store.h"

namespace dsar::store {

class IdempotencyKeySweeper {
 public:
  IdempotencyKeySweeper(Store* store, Clock* clock, absl::Duration retention,
                        absl::Duration interval = absl::Hours(1), int batch_size = 1000);
  ~IdempotencyKeySweeper() { Stop(); }

  void Start();
  void Stop();

  // Deletes every key created before clock->Now() - retention; returns how
  // many went.
  absl::StatusOr<int64_t> SweepOnce();

 private:
  Store* const store_;
  Clock* const clock_;
  const absl::Duration retention_;
  const absl::Duration interval_;
  const int batch_size_;
  delivery::BackgroundLoop loop_;
};

}  // namespace dsar::store

#endif  // DSAR_LIB_STORE_IDEMPOTENCY_SWEEPER_H_
