// Internal to lib/deadline: the SQL of alert delivery (the sinks' cursors in
// deadline_alert_sinks; alerts read with their deadlines). Retry rows are
// lib/delivery's deliveries table (delivery_rows), in channel
// "alerts/<sink>". AlertForwarder decides what happens; these functions only
// read and write, inside the caller's transaction. Not thread-safe (a
// transaction belongs to one call).
#ifndef DSAR_LIB_DEADLINE_ALERT_DELIVERY_ROWS_H_
#define DSAR_LIB_DEADLINE_ALERT_DELIVERY_ROWS_H_

#include <cstdint>
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

// Pending retries of `sink` due at `now` (rows of the deliveries table in
// channel "alerts/<sink>"), oldest due first, at most `limit`. Payloads are
// built only when `with_payload`.
std::vector<DueDelivery> DueRetries(store::ReadTxn& txn, const std::string& sink, absl::Time now,
                                    int limit, bool with_payload);
// Alerts after the sink's cursor and after `after_seq`, in seq order, at
// most `limit`.
std::vector<DueDelivery> FreshAlerts(store::ReadTxn& txn, const std::string& sink,
                                     int64_t after_seq, int limit, bool with_payload);

// Whether any alert lies after the sink's cursor.
bool AnyFreshAlert(store::ReadTxn& txn, const std::string& sink);

// Moves the sink's cursor forward to `last_seq` (never back).
void AdvanceCursor(store::WriteTxn& txn, const std::string& sink, int64_t last_seq, absl::Time now);

}  // namespace dsar::deadline::internal

#endif  // DSAR_LIB_DEADLINE_ALERT_DELIVERY_ROWS_H_
