// Internal to lib/deadline: the SQL of alert delivery (the sinks' cursors in
// deadline_alert_sinks, retry rows in deadline_alert_deliveries, read with
// their alerts and deadlines). AlertForwarder decides what happens; these
// functions only read and write, inside the caller's transaction. Not
// thread-safe (a transaction belongs to one call).
#ifndef DSAR_LIB_DEADLINE_ALERT_DELIVERY_ROWS_H_
#define DSAR_LIB_DEADLINE_ALERT_DELIVERY_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "lib/deadline/alert_sink.h"
#include "lib/store/txn.h"

namespace dsar::deadline::internal {

// A delivery to attempt and when it became due (a retry's next attempt, a
// fresh alert's firing), by which retries and fresh alerts are merged.
struct DueDelivery {
  AlertDelivery delivery;
  int64_t due_us = 0;
};

// Pending retries of `sink` due at `now`, oldest due first, at most `limit`.
// Payloads are built only when `with_payload`.
std::vector<DueDelivery> DueRetries(store::ReadTxn& txn, const std::string& sink, absl::Time now,
                                    int limit, bool with_payload);
// Alerts after the sink's cursor and after `after_seq`, in seq order, at
// most `limit`.
std::vector<DueDelivery> FreshAlerts(store::ReadTxn& txn, const std::string& sink,
                                     int64_t after_seq, int limit, bool with_payload);

// Whether any alert lies after the sink's cursor.
bool AnyFreshAlert(store::ReadTxn& txn, const std::string& sink);
// The earliest next attempt of the sink's pending retries; nullopt if none.
std::optional<absl::Time> EarliestRetry(store::ReadTxn& txn, const std::string& sink);

// What became of one attempt.
struct DeliveryOutcome {
  int64_t seq;
  std::string state;  // delivered | pending | failed
  int attempts;
  absl::Time next_attempt;  // for delivered: when
  std::string error;
  std::string tenant;
  bool retry;  // a row of deadline_alert_deliveries; else a fresh alert
};

// Marks pending retry rows of `sink` delivered, with multi-row UPDATEs of at
// most 64 rows (shorter tails in powers of two, so few statements are ever
// prepared).
void MarkRetriesDelivered(store::WriteTxn& txn, const std::string& sink,
                          const std::vector<const DeliveryOutcome*>& delivered);
// A retry that failed again (pending or failed).
void UpdateRetry(store::WriteTxn& txn, const std::string& sink, const DeliveryOutcome& outcome);
// A fresh alert that was not delivered gets a row (pending or failed).
void InsertRetry(store::WriteTxn& txn, const std::string& sink, const DeliveryOutcome& outcome);
// Moves the sink's cursor forward to `last_seq` (never back).
void AdvanceCursor(store::WriteTxn& txn, const std::string& sink, int64_t last_seq, absl::Time now);

}  // namespace dsar::deadline::internal

#endif  // DSAR_LIB_DEADLINE_ALERT_DELIVERY_ROWS_H_
