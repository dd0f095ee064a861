// SQL over the deliveries table (migration 22): the retry bookkeeping of the
// outgoing deliveries that have no richer state of their own — alerts to each
// sink, status callbacks — in one layout, one set of statements.
//
// A channel is one ordered stream with its own retries: "callbacks", or
// "alerts/<sink>" (AlertsChannel). An item is the delivered thing's seq in its
// own table (privacy_request_callbacks.seq, deadline_alerts.seq), which keeps
// the content: a row here says only how far its delivery got (pending with the
// next attempt, delivered, or failed for good) and why. Connector tasks keep
// outbox_tasks (leases, waiting, skipped are theirs alone) but are judged by
// the same delivery::JudgeAttempt. Another storage engine implements these
// functions once for every channel. Nothing here decides policy; every
// function runs inside the caller's transaction.
#ifndef DSAR_LIB_DELIVERY_DELIVERY_ROWS_H_
#define DSAR_LIB_DELIVERY_DELIVERY_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/delivery/attempt.h"
#include "lib/store/txn.h"

namespace dsar::delivery::delivery_rows {

inline constexpr absl::string_view kCallbacksChannel = "callbacks";
// "alerts/<sink>".
std::string AlertsChannel(absl::string_view sink);

// A row that is due.
struct DueItem {
  int64_t item = 0;
  int attempts = 0;  // made so far
  absl::Time next_attempt;
};

// A pending row with no attempt yet, due at `due` (an outbox entry, written
// with what caused it).
void InsertPending(store::WriteTxn& txn, absl::string_view channel, int64_t item,
                   absl::string_view tenant, absl::Time due);
// A row for an item first attempted without one (e.g. an alert read after a
// sink's cursor) that was not delivered: pending or failed.
void InsertOutcome(store::WriteTxn& txn, absl::string_view channel, int64_t item,
                   absl::string_view tenant, const AttemptOutcome& outcome);
// Records an attempt of a pending row; nothing when the row is not pending.
void RecordOutcome(store::WriteTxn& txn, absl::string_view channel, int64_t item,
                   const AttemptOutcome& outcome);
// Moves a pending row's next attempt to `until` without counting an attempt
// (its target's circuit breaker is open).
void Postpone(store::WriteTxn& txn, absl::string_view channel, int64_t item, absl::Time until);
// Marks pending rows delivered (multi-row statements), each with its
// attempts made and when.
struct Delivered {
  int64_t item = 0;
  int attempts = 0;
  absl::Time at;
};
void MarkDelivered(store::WriteTxn& txn, absl::string_view channel,
                   const std::vector<Delivered>& delivered);

// Pending rows of `channel` due at `now`, earliest first, at most `limit`.
std::vector<DueItem> Due(store::ReadTxn& txn, absl::string_view channel, absl::Time now, int limit);
// The earliest next attempt after `after` of the channel's pending rows;
// nullopt if none.
std::optional<absl::Time> EarliestDue(store::ReadTxn& txn, absl::string_view channel,
                                      absl::Time after = absl::InfinitePast());

// Rows by channel and state (its stored name), for metrics and tests.
struct StateCount {
  std::string channel;
  std::string state;
  int64_t count = 0;
};
std::vector<StateCount> CountByState(store::ReadTxn& txn);

}  // namespace dsar::delivery::delivery_rows

#endif  // DSAR_LIB_DELIVERY_DELIVERY_ROWS_H_
