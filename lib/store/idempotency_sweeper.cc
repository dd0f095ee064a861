#include "lib/store/idempotency_sweeper.h"

#include <SQLiteCpp/Statement.h>

#include "lib/core/log.h"

namespace dsar::store {

IdempotencyKeySweeper::IdempotencyKeySweeper(Store* store, Clock* clock, absl::Duration retention,
                                             absl::Duration interval, int batch_size)
    : store_(store),
      clock_(clock),
      retention_(retention),
      interval_(interval),
      batch_size_(batch_size) {}

absl::StatusOr<int64_t> IdempotencyKeySweeper::SweepOnce() {
  const int64_t cutoff_us = absl::ToUnixMicros(clock_->Now() - retention_);
  int64_t total = 0;
  for (;;) {
    int deleted = 0;
    absl::Status s = store_->WriteAndWait([&](WriteTxn& txn) {
      SQLite::Statement& q = txn.Prepare(
          "DELETE FROM idempotency_keys WHERE (tenant_id, request_id) IN ("
          "SELECT tenant_id, request_id FROM idempotency_keys WHERE created_at < ? LIMIT ?)");
      q.bind(1, static_cast<int64_t>(cutoff_us));
      q.bind(2, batch_size_);
      deleted = q.exec();
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    total += deleted;
    if (deleted < batch_size_) return total;
    absl::MutexLock lock(&mu_);
    if (stopping_) return total;
  }
}

void IdempotencyKeySweeper::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    for (;;) {
      mu_.Unlock();
      absl::StatusOr<int64_t> swept = SweepOnce();
      if (!swept.ok()) {
        log::Warn("idempotency_sweep_failed",
                  {{"code", absl::StatusCodeToString(swept.status().code())}});
      } else if (*swept > 0) {
        log::Info("idempotency_keys_swept", {{"deleted", *swept}});
      }
      mu_.Lock();
      // Wakes at the interval, or at once when stopping.
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) return;
    }
  });
}

void IdempotencyKeySweeper::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace dsar::store
