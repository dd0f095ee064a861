// Alerts: the outbox of fired deadline levels, read by WatchAlerts and the
// delivery sinks, and acknowledged by people.
//
// An alert row is written by FireDue (firing.h); its unique key (deadline,
// due version, level) makes each level fire exactly once, and each configured
// sink takes every alert after its cursor (forwarder.h), so every sink hears
// of it at least once, across crashes and restarts. `seq` increases with every alert
// (commits are serialised by the store's single writer), so a reader that has
// seen seq N and asks for seq > N misses nothing. Thread-safe (each call has
// its own transaction).
#ifndef DSAR_LIB_DEADLINE_ALERTS_H_
#define DSAR_LIB_DEADLINE_ALERTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/core/call_context.h"
#include "lib/deadline/levels.h"
#include "lib/deadline/resource_names.h"
#include "lib/store/txn.h"

namespace dsar::deadline {

struct Alert {
  int64_t seq = 0;
  std::string alert_id;  // AlertIdFor(...) (or older random "alrt_..."); receivers dedupe on it
  std::string tenant;
  std::string deadline_id;
  std::string kind;
  std::string resource;
  int due_version = 1;
  absl::Duration offset;  // level, relative to the due time
  absl::Time due_at;
  absl::Time fire_at;   // when the level was due to fire
  absl::Time fired_at;  // when it fired
  std::string payload;  // JSON sent to sinks (AlertPayload)
  std::optional<absl::Time> acknowledged_at;
  std::string acknowledged_by;

  AlertLevel level() const { return LevelOf(offset); }
  std::string name() const { return AlertName(alert_id); }
};

// The id of the alert of (deadline, due version, level): "alrt_" + the
// deadline id without its "dl_" + "_" + due version + "_" + the level's offset
// in seconds ("m86400" for T-24h, "0" at the due time, "p86400" a day
// overdue; "u" after the number when it is not whole seconds but
// microseconds), e.g. "alrt_3n3r4ijpr6x22laqfh6pzeysbs_1_m86400". The same
// alert has the same id on every read and across restarts; nothing else has
// it. Alerts fired before migration 9 keep the random id they were given.
std::string AlertIdFor(absl::string_view deadline_id, int due_version, absl::Duration offset);

// What AlertIdFor encodes; nullopt when `alert_id` is not of that form.
struct AlertKey {
  std::string deadline_id;
  int due_version = 0;
  absl::Duration offset;
};
std::optional<AlertKey> ParseAlertId(absl::string_view alert_id);

// Alerts of `tenant` with seq > after_seq, in seq order, at most `limit`.
absl::StatusOr<std::vector<Alert>> ListAlertsAfter(store::ReadTxn& txn, absl::string_view tenant,
                                                   int64_t after_seq, int limit);

// NOT_FOUND when absent or another tenant's.
absl::StatusOr<Alert> GetAlert(store::ReadTxn& txn, absl::string_view tenant,
                               absl::string_view alert_id);

// Marks the alert acknowledged by ctx.principal at `now` (the first
// acknowledgement wins; acknowledging again changes nothing). Idempotent on
// ctx.idempotency_key and audited, in the caller's transaction. Errors:
// INVALID_ARGUMENT ("request_id", "name"); NOT_FOUND.
absl::StatusOr<Alert> AcknowledgeAlert(store::WriteTxn& txn, const CallContext& ctx,
                                       absl::string_view alert_id, absl::Time now);

// The JSON body sinks send for `a` (webhook payload): ids, kind, level and
// times, never personal data; keys in a fixed order. A pure function of the
// alert row, so every attempt signs the same bytes: alerts fired set-based
// store an empty `payload` column and readers (ListAlertsAfter, GetAlert, the
// forwarder) build it; older rows keep the body they were stored with.
std::string AlertPayload(const Alert& a);

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_ALERTS_H_
