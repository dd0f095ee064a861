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
      batch_size_(batch_size),
      loop_([this] {
        absl::StatusOr<int64_t> swept = SweepOnce();
        if (!swept.ok()) {
          log::Warn("idempotency_sweep_failed",
                    {{"code", absl::StatusCodeToString(swept.status().code())}});
        } else if (*swept > 0) {
          log::Info("idempotency_keys_swept", {{"deleted", *swept}});
        }
        return interval_;
      }) {}

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
    if (deleted < batch_size_ || loop_.stopping()) return total;
  }
}

void IdempotencyKeySweeper::Start() { loop_.Start(); }

void IdempotencyKeySweeper::Stop() { loop_.Stop(); }

}  // namespace dsar::store
