// Internal to lib/deadline: the module's repository: reading and writing rows
// of the deadlines and deadline_alerts tables (the set-based firing
// statements are firing.cc's, the sinks' cursors alert_delivery_rows.cc's).
// Not thread-safe (a transaction belongs to one call).
#ifndef DSAR_LIB_DEADLINE_DEADLINE_ROWS_H_
#define DSAR_LIB_DEADLINE_DEADLINE_ROWS_H_

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/deadline/alerts.h"
#include "lib/deadline/deadlines.h"

namespace dsar::deadline::internal {

inline int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromUs(int64_t us) { return absl::FromUnixMicros(us); }
inline int64_t DurUs(absl::Duration d) { return absl::ToInt64Microseconds(d); }

// Columns in the order ReadDeadline expects.
inline constexpr char kDeadlineColumns[] =
    "tenant_id, deadline_id, kind, resource, state, started_at_us, initial_due_at_us, "
    "due_at_us, due_version, paused_at_us, paused_total_us, extension_count, "
    "extension_reason, levels_fired, next_offset_us, next_fire_at_us, closed_at_us, "
    "created_at_us, updated_at_us";

DeadlineState ParseState(const std::string& s);

// Reads the current row of `stmt`, selected with kDeadlineColumns first.
Deadline ReadDeadline(SQLite::Statement& stmt);

// Inserts `d`, just scheduled (open, due version 1, its first level queued),
// with the SLA report's group (ScheduleRequest::sla_group).
void InsertDeadline(store::WriteTxn& txn, const Deadline& d, const std::string& sla_group);

// A deadline's next firing: when its next level fires, and which it is.
struct FireRow {
  int64_t fire_us;
  std::string tenant;
  std::string deadline_id;
};
// Deadlines whose next level fires at or before `until_us`, in firing order
// (fire time, tenant, id), at most `limit`: after `cursor` when given, else
// after `from_us` (the Scheduler's refill; a range of deadlines_next_fire).
std::vector<FireRow> NextToFire(store::ReadTxn& txn, const std::optional<FireRow>& cursor,
                                int64_t from_us, int64_t until_us, int limit);

// Records the first acknowledgement of the alert `seq` of `tenant`.
void MarkAlertAcknowledged(store::WriteTxn& txn, absl::string_view tenant, int64_t seq,
                           absl::string_view principal, absl::Time now);

// Updates every mutable column of `d` (located by tenant and id).
void UpdateDeadline(store::WriteTxn& txn, const Deadline& d);

// The row by id, or nullopt.
template <typename Txn>
std::optional<Deadline> LoadById(Txn& txn, absl::string_view tenant, absl::string_view id);

// The open deadline of the key, or else its latest; nullopt when none.
template <typename Txn>
std::optional<Deadline> LoadByKey(Txn& txn, const DeadlineKey& key);

// Alerts (deadline_alerts with their deadline's kind and resource).
// The alert fired for `key` (not a legacy one); nullopt when none.
template <typename Txn>
std::optional<Alert> LoadAlertByKey(Txn& txn, absl::string_view tenant, const AlertKey& key);
// An alert fired before migration 9 by its stored random id.
template <typename Txn>
std::optional<Alert> LoadLegacyAlert(Txn& txn, absl::string_view tenant,
                                     absl::string_view alert_id);
// The tenant's alerts after `after_seq`, in seq order, at most `limit`.
std::vector<Alert> AlertsAfter(store::ReadTxn& txn, absl::string_view tenant, int64_t after_seq,
                               int limit);

// The deadlines ListDeadlines pages through: a range of the
// (tenant_id, state, due_at_us, deadline_id) index when `state` is set.
struct DeadlineRange {
  std::string tenant;
  std::string state;  // stored name; empty: any
  std::string kind;   // empty: any
  int64_t due_before_us = 0;
  int64_t after_due_us = 0;  // the last row of the previous page
  std::string after_id;
  bool unpaused_only = false;
  int limit = 0;
};
std::vector<Deadline> ListDeadlineRows(store::ReadTxn& txn, const DeadlineRange& range);

// The SLA report's inputs for one tenant (kind "" = every kind). Deadlines
// closed in [start, end): their kind, group, whether cancelled, time to
// close and whether closed by the due time.
struct ClosedDeadline {
  std::string kind, sla_group;
  bool cancelled = false;
  absl::Duration time_to_close;
  bool on_time = false;
};
std::vector<ClosedDeadline> ClosedInWindow(store::ReadTxn& txn, absl::string_view tenant,
                                           absl::Time start, absl::Time end,
                                           absl::string_view kind);
// Open deadlines now by kind and group, with how many of them are overdue.
struct OpenCount {
  std::string kind, sla_group;
  int64_t open = 0;
  int64_t overdue = 0;
};
std::vector<OpenCount> OpenByKindAndGroup(store::ReadTxn& txn, absl::string_view tenant,
                                          absl::Time now, absl::string_view kind);

}  // namespace dsar::deadline::internal

#endif  // DSAR_LIB_DEADLINE_DEADLINE_ROWS_H_
