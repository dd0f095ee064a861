#include "lib/deadline/deadline_rows.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"

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

}  // namespace dsar::deadline::internal
