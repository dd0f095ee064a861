#include "lib/deadline/deadline_rows.h"

#include <SQLiteCpp/VariadicBind.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "lib/deadline/deadline_counts.h"

namespace dsar::deadline::internal {
namespace {

std::optional<int64_t> OptInt(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}

template <typename T>
void BindOpt(SQLite::Statement& stmt, int index, const std::optional<T>& v) {
  if (v.has_value()) {
    stmt.bind(index, static_cast<int64_t>(*v));
  } else {
    stmt.bind(index);
  }
}

}  // namespace

DeadlineState ParseState(const std::string& s) {
  if (s == "completed") return DeadlineState::kCompleted;
  if (s == "cancelled") return DeadlineState::kCancelled;
  return DeadlineState::kOpen;
}

Deadline ReadDeadline(SQLite::Statement& stmt) {
  Deadline d;
  d.tenant = stmt.getColumn(0).getString();
  d.deadline_id = stmt.getColumn(1).getString();
  d.kind = stmt.getColumn(2).getString();
  d.resource = stmt.getColumn(3).getString();
  d.state = ParseState(stmt.getColumn(4).getString());
  d.started_at = FromUs(stmt.getColumn(5).getInt64());
  d.initial_due_at = FromUs(stmt.getColumn(6).getInt64());
  d.due_at = FromUs(stmt.getColumn(7).getInt64());
  d.due_version = stmt.getColumn(8).getInt();
  if (auto v = OptInt(stmt.getColumn(9))) d.paused_at = FromUs(*v);
  d.paused_total = absl::Microseconds(stmt.getColumn(10).getInt64());
  d.extension_count = stmt.getColumn(11).getInt();
  d.extension_reason = stmt.getColumn(12).getString();
  d.levels_fired = stmt.getColumn(13).getInt();
  if (auto v = OptInt(stmt.getColumn(14))) d.next_offset = absl::Microseconds(*v);
  if (auto v = OptInt(stmt.getColumn(15))) d.next_alert_at = FromUs(*v);
  if (auto v = OptInt(stmt.getColumn(16))) d.closed_at = FromUs(*v);
  d.created_at = FromUs(stmt.getColumn(17).getInt64());
  d.updated_at = FromUs(stmt.getColumn(18).getInt64());
  return d;
}

void InsertDeadline(store::WriteTxn& txn, const Deadline& d, const std::string& sla_group) {
  SQLite::Statement& insert = txn.Prepare(
      "INSERT INTO deadlines (tenant_id, deadline_id, kind, resource, state, started_at_us, "
      "initial_due_at_us, due_at_us, due_version, paused_total_us, extension_count, "
      "extension_reason, levels_fired, next_offset_us, next_fire_at_us, created_at_us, "
      "updated_at_us, sla_group) "
      "VALUES (?, ?, ?, ?, 'open', ?, ?, ?, 1, 0, 0, '', 0, ?, ?, ?, ?, ?)");
  SQLite::bind(insert, d.tenant, d.deadline_id, d.kind, d.resource, Us(d.started_at),
               Us(d.initial_due_at), Us(d.due_at), DurUs(*d.next_offset), Us(*d.next_alert_at),
               Us(d.created_at), Us(d.updated_at), sla_group);
  insert.exec();
  insert.reset();
}

std::vector<FireRow> NextToFire(store::ReadTxn& txn, const std::optional<FireRow>& cursor,
                                int64_t from_us, int64_t until_us, int limit) {
  SQLite::Statement& select =
      cursor.has_value() ? txn.Prepare(
                               "SELECT next_fire_at_us, tenant_id, deadline_id FROM deadlines "
                               "WHERE next_fire_at_us IS NOT NULL "
                               "AND (next_fire_at_us, tenant_id, deadline_id) > (?1, ?2, ?3) "
                               "AND next_fire_at_us <= ?4 "
                               "ORDER BY next_fire_at_us, tenant_id, deadline_id LIMIT ?5")
                         : txn.Prepare(
                               "SELECT next_fire_at_us, tenant_id, deadline_id FROM deadlines "
                               "WHERE next_fire_at_us IS NOT NULL AND next_fire_at_us > ?1 "
                               "AND next_fire_at_us <= ?4 "
                               "ORDER BY next_fire_at_us, tenant_id, deadline_id LIMIT ?5");
  if (cursor.has_value()) {
    SQLite::bind(select, cursor->fire_us, cursor->tenant, cursor->deadline_id, until_us, limit);
  } else {
    select.bind(1, from_us);  // ?2 and ?3 are not in this statement
    select.bind(4, until_us);
    select.bind(5, limit);
  }
  std::vector<FireRow> rows;
  rows.reserve(static_cast<size_t>(std::min(std::max(limit, 0), 4096)));
  while (select.executeStep()) {
    rows.push_back(FireRow{select.getColumn(0).getInt64(), select.getColumn(1).getString(),
                           select.getColumn(2).getString()});
  }
  select.reset();
  return rows;
}

void MarkAlertAcknowledged(store::WriteTxn& txn, absl::string_view tenant, int64_t seq,
                           absl::string_view principal, absl::Time now) {
  SQLite::Statement& update = txn.Prepare(
      "UPDATE deadline_alerts SET acknowledged_at_us = ?, acknowledged_by = ? "
      "WHERE seq = ? AND tenant_id = ?");
  SQLite::bind(update, Us(now), std::string(principal), seq, std::string(tenant));
  update.exec();
  update.reset();
}

void UpdateDeadline(store::WriteTxn& txn, const Deadline& d) {
  SQLite::Statement& update = txn.Prepare(
      "UPDATE deadlines SET state = ?, due_at_us = ?, due_version = ?, paused_at_us = ?, "
      "paused_total_us = ?, extension_count = ?, extension_reason = ?, levels_fired = ?, "
      "next_offset_us = ?, next_fire_at_us = ?, closed_at_us = ?, updated_at_us = ? "
      "WHERE tenant_id = ? AND deadline_id = ?");
  update.bind(1, DeadlineStateName(d.state));
  update.bind(2, Us(d.due_at));
  update.bind(3, d.due_version);
  BindOpt(update, 4, d.paused_at ? std::optional<int64_t>(Us(*d.paused_at)) : std::nullopt);
  update.bind(5, DurUs(d.paused_total));
  update.bind(6, d.extension_count);
  update.bind(7, d.extension_reason);
  update.bind(8, d.levels_fired);
  BindOpt(update, 9, d.next_offset ? std::optional<int64_t>(DurUs(*d.next_offset)) : std::nullopt);
  BindOpt(update, 10,
          d.next_alert_at ? std::optional<int64_t>(Us(*d.next_alert_at)) : std::nullopt);
  BindOpt(update, 11, d.closed_at ? std::optional<int64_t>(Us(*d.closed_at)) : std::nullopt);
  update.bind(12, Us(d.updated_at));
  update.bind(13, d.tenant);
  update.bind(14, d.deadline_id);
  update.exec();
}

template <typename Txn>
std::optional<Deadline> LoadById(Txn& txn, absl::string_view tenant, absl::string_view id) {
  SQLite::Statement& select = txn.Prepare(absl::StrCat(
      "SELECT ", kDeadlineColumns, " FROM deadlines WHERE tenant_id = ? AND deadline_id = ?"));
  select.bind(1, std::string(tenant));
  select.bind(2, std::string(id));
  std::optional<Deadline> out;
  if (select.executeStep()) out = ReadDeadline(select);
  select.reset();
  return out;
}

template <typename Txn>
std::optional<Deadline> LoadByKey(Txn& txn, const DeadlineKey& key) {
  SQLite::Statement& select = txn.Prepare(
      absl::StrCat("SELECT ", kDeadlineColumns,
                   // Without the hint SQLite (no statistics) walks the tenant's whole
                   // primary key to avoid sorting; a key has only a handful of rows.
                   " FROM deadlines INDEXED BY deadlines_by_resource "
                   "WHERE tenant_id = ? AND resource = ? AND kind = ? "
                   "ORDER BY state = 'open' DESC, created_at_us DESC, deadline_id DESC LIMIT 1"));
  select.bind(1, key.tenant);
  select.bind(2, key.resource);
  select.bind(3, key.kind);
  std::optional<Deadline> out;
  if (select.executeStep()) out = ReadDeadline(select);
  select.reset();
  return out;
}

template std::optional<Deadline> LoadById(store::ReadTxn&, absl::string_view, absl::string_view);
template std::optional<Deadline> LoadById(store::WriteTxn&, absl::string_view, absl::string_view);
template std::optional<Deadline> LoadByKey(store::ReadTxn&, const DeadlineKey&);
template std::optional<Deadline> LoadByKey(store::WriteTxn&, const DeadlineKey&);

namespace {

// Alert rows with their deadline's kind and resource (never changed, so not
// copied into the alert; LEFT JOIN: a row stays readable on its own).
constexpr char kAlertSelect[] =
    "SELECT a.seq, a.legacy_alert_id, a.tenant_id, a.deadline_id, d.kind, d.resource, "
    "a.due_version, a.offset_us, a.due_at_us, a.fire_at_us, a.fired_at_us, a.legacy_payload, "
    "a.acknowledged_at_us, a.acknowledged_by FROM deadline_alerts a "
    "LEFT JOIN deadlines d ON d.tenant_id = a.tenant_id AND d.deadline_id = a.deadline_id ";

Alert ReadAlert(SQLite::Statement& s) {
  Alert a;
  a.seq = s.getColumn(0).getInt64();
  a.tenant = s.getColumn(2).getString();
  a.deadline_id = s.getColumn(3).getString();
  a.kind = s.getColumn(4).getString();
  a.resource = s.getColumn(5).getString();
  a.due_version = s.getColumn(6).getInt();
  a.offset = absl::Microseconds(s.getColumn(7).getInt64());
  a.due_at = FromUs(s.getColumn(8).getInt64());
  a.fire_at = FromUs(s.getColumn(9).getInt64());
  a.fired_at = FromUs(s.getColumn(10).getInt64());
  a.alert_id = s.getColumn(1).isNull() ? AlertIdFor(a.deadline_id, a.due_version, a.offset)
                                       : s.getColumn(1).getString();
  // Only alerts fired before set-based firing have a stored body.
  a.payload = s.getColumn(11).isNull() ? AlertPayload(a) : s.getColumn(11).getString();
  if (!s.getColumn(12).isNull()) a.acknowledged_at = FromUs(s.getColumn(12).getInt64());
  a.acknowledged_by = s.getColumn(13).getString();  // "" when NULL
  return a;
}

std::optional<Alert> ReadOneAlert(SQLite::Statement& select) {
  std::optional<Alert> out;
  if (select.executeStep()) out = ReadAlert(select);
  select.reset();
  return out;
}

}  // namespace

template <typename Txn>
std::optional<Alert> LoadAlertByKey(Txn& txn, absl::string_view tenant, const AlertKey& key) {
  SQLite::Statement& select = txn.Prepare(
      absl::StrCat(kAlertSelect,
                   "WHERE a.tenant_id = ?1 AND a.deadline_id = ?2 AND a.due_version = ?3 AND "
                   "a.offset_us = ?4 AND a.legacy_alert_id IS NULL"));
  SQLite::bind(select, std::string(tenant), key.deadline_id, key.due_version, DurUs(key.offset));
  return ReadOneAlert(select);
}

template <typename Txn>
std::optional<Alert> LoadLegacyAlert(Txn& txn, absl::string_view tenant,
                                     absl::string_view alert_id) {
  SQLite::Statement& select =
      txn.Prepare(absl::StrCat(kAlertSelect, "WHERE a.tenant_id = ?1 AND a.legacy_alert_id = ?2"));
  SQLite::bind(select, std::string(tenant), std::string(alert_id));
  return ReadOneAlert(select);
}

template std::optional<Alert> LoadAlertByKey(store::ReadTxn&, absl::string_view, const AlertKey&);
template std::optional<Alert> LoadAlertByKey(store::WriteTxn&, absl::string_view, const AlertKey&);
template std::optional<Alert> LoadLegacyAlert(store::ReadTxn&, absl::string_view,
                                              absl::string_view);
template std::optional<Alert> LoadLegacyAlert(store::WriteTxn&, absl::string_view,
                                              absl::string_view);

std::vector<Alert> AlertsAfter(store::ReadTxn& txn, absl::string_view tenant, int64_t after_seq,
                               int limit) {
  SQLite::Statement& select = txn.Prepare(
      absl::StrCat(kAlertSelect, "WHERE a.tenant_id = ? AND a.seq > ? ORDER BY a.seq LIMIT ?"));
  SQLite::bind(select, std::string(tenant), after_seq, limit);
  std::vector<Alert> out;
  while (select.executeStep()) out.push_back(ReadAlert(select));
  select.reset();
  return out;
}

std::vector<Deadline> ListDeadlineRows(store::ReadTxn& txn, const DeadlineRange& range) {
  // One cached statement per combination of filters; kind and pause are
  // checked on the rows of the index range.
  std::string sql =
      absl::StrCat("SELECT ", kDeadlineColumns, " FROM deadlines WHERE tenant_id = :tenant");
  if (!range.state.empty()) absl::StrAppend(&sql, " AND state = :state");
  absl::StrAppend(
      &sql, " AND due_at_us < :due_before AND (due_at_us, deadline_id) > (:after_due, :after_id)");
  if (!range.kind.empty()) absl::StrAppend(&sql, " AND kind = :kind");
  if (range.unpaused_only) absl::StrAppend(&sql, " AND paused_at_us IS NULL");
  absl::StrAppend(&sql, " ORDER BY due_at_us, deadline_id LIMIT :limit");
  SQLite::Statement& select = txn.Prepare(sql);
  select.bind(":tenant", range.tenant);
  if (!range.state.empty()) select.bind(":state", range.state);
  select.bind(":due_before", range.due_before_us);
  select.bind(":after_due", range.after_due_us);
  select.bind(":after_id", range.after_id);
  if (!range.kind.empty()) select.bind(":kind", range.kind);
  select.bind(":limit", range.limit);
  std::vector<Deadline> out;
  while (select.executeStep()) out.push_back(ReadDeadline(select));
  select.reset();
  return out;
}

std::vector<ClosedDeadline> ClosedInWindow(store::ReadTxn& txn, absl::string_view tenant,
                                           absl::Time start, absl::Time end,
                                           absl::string_view kind) {
  // A range of the deadlines_by_close index.
  SQLite::Statement& closed = txn.Prepare(
      "SELECT d.kind, d.sla_group, d.state = 'cancelled', "
      "d.closed_at_us - d.started_at_us - d.paused_total_us, d.closed_at_us <= d.due_at_us "
      "FROM deadlines d INDEXED BY deadlines_by_close "
      "WHERE d.tenant_id = ?1 AND d.closed_at_us >= ?2 AND d.closed_at_us < ?3 "
      "AND d.closed_at_us IS NOT NULL AND (?4 = '' OR d.kind = ?4)");
  SQLite::bind(closed, std::string(tenant), Us(start), Us(end), std::string(kind));
  std::vector<ClosedDeadline> out;
  while (closed.executeStep()) {
    out.push_back({closed.getColumn(0).getString(), closed.getColumn(1).getString(),
                   closed.getColumn(2).getInt() != 0,
                   absl::Microseconds(closed.getColumn(3).getInt64()),
                   closed.getColumn(4).getInt() != 0});
  }
  closed.reset();
  return out;
}

std::vector<OpenCount> OpenByKindAndGroup(store::ReadTxn& txn, absl::string_view tenant,
                                          absl::Time now, absl::string_view kind) {
  // A range of the (tenant_id, state, due_at_us) index.
  SQLite::Statement& open = txn.Prepare(
      "SELECT d.kind, d.sla_group, COUNT(*), SUM(d.paused_at_us IS NULL AND d.due_at_us <= ?2) "
      "FROM deadlines d WHERE d.tenant_id = ?1 AND d.state = 'open' AND (?3 = '' OR d.kind = ?3) "
      "GROUP BY d.kind, d.sla_group");
  SQLite::bind(open, std::string(tenant), Us(now), std::string(kind));
  std::vector<OpenCount> out;
  while (open.executeStep()) {
    out.push_back({open.getColumn(0).getString(), open.getColumn(1).getString(),
                   open.getColumn(2).getInt64(), open.getColumn(3).getInt64()});
  }
  open.reset();
  return out;
}

}  // namespace dsar::deadline::internal

namespace dsar::deadline {

std::vector<DeadlineCount> CountByState(store::ReadTxn& txn) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT tenant_id, kind, state, COUNT(*) FROM deadlines GROUP BY tenant_id, kind, state");
  std::vector<DeadlineCount> out;
  while (q.executeStep()) {
    out.push_back(DeadlineCount{q.getColumn(0).getString(), q.getColumn(1).getString(),
                                q.getColumn(2).getString(), q.getColumn(3).getInt64()});
  }
  q.reset();
  return out;
}

std::vector<OverdueCount> CountOverdue(store::ReadTxn& txn,
                                       const std::vector<DeadlineCount>& by_state, absl::Time now) {
  // For each (tenant, kind) with open deadlines, one range of
  // deadlines_open_by_due (only the overdue entries are read).
  SQLite::Statement& q = txn.Prepare(
      "SELECT COUNT(*) FROM deadlines WHERE tenant_id = ?1 AND kind = ?2 AND state = 'open' "
      "AND paused_at_us IS NULL AND due_at_us <= ?3");
  std::vector<OverdueCount> out;
  for (const DeadlineCount& group : by_state) {
    if (group.state != "open") continue;
    SQLite::bind(q, group.tenant, group.kind, static_cast<int64_t>(absl::ToUnixMicros(now)));
    const int64_t n = q.executeStep() ? q.getColumn(0).getInt64() : 0;
    q.reset();
    if (n > 0) out.push_back(OverdueCount{group.tenant, group.kind, n});
  }
  return out;
}

std::vector<FiredCount> CountAlertsFired(store::ReadTxn& txn) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT tenant_id, CASE WHEN offset_us < 0 THEN 'warning' WHEN offset_us = 0 "
      "THEN 'due' ELSE 'overdue' END AS level, COUNT(*) FROM deadline_alerts "
      "GROUP BY tenant_id, level");
  std::vector<FiredCount> out;
  while (q.executeStep()) {
    out.push_back(FiredCount{q.getColumn(0).getString(), q.getColumn(1).getString(),
                             q.getColumn(2).getInt64()});
  }
  q.reset();
  return out;
}

std::vector<DeliveryCount> CountDeliveries(store::ReadTxn& txn) {
  SQLite::Statement& q =
      txn.Prepare("SELECT sink, state, n FROM deadline_alert_delivery_counts ORDER BY sink, state");
  std::vector<DeliveryCount> out;
  while (q.executeStep()) {
    out.push_back(DeliveryCount{q.getColumn(0).getString(), q.getColumn(1).getString(),
                                q.getColumn(2).getInt64()});
  }
  q.reset();
  return out;
}

}  // namespace dsar::deadline
