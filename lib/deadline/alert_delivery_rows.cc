#include "lib/deadline/alert_delivery_rows.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>

#include "absl/strings/str_cat.h"
#include "lib/deadline/alerts.h"
#include "lib/delivery/delivery_rows.h"

namespace dsar::deadline::internal {
namespace {

// The columns ReadDelivery expects, for an alert `a` joined with its deadline
// `dl`; the first two are the seq and the attempts made so far, the last the
// time it became due.
constexpr char kDeliveryColumns[] =
    "a.legacy_alert_id, a.tenant_id, a.deadline_id, dl.kind, a.offset_us, a.legacy_payload, "
    "dl.resource, a.due_version, a.due_at_us, a.fire_at_us, a.fired_at_us";

DueDelivery ReadDelivery(SQLite::Statement& select, bool with_payload) {
  DueDelivery due;
  due.due_us = select.getColumn(13).getInt64();
  AlertDelivery& d = due.delivery;
  d.seq = select.getColumn(0).getInt64();
  d.attempt = select.getColumn(1).getInt() + 1;
  d.tenant = select.getColumn(3).getString();
  d.deadline_id = select.getColumn(4).getString();
  d.kind = select.getColumn(5).getString();
  const int64_t offset_us = select.getColumn(6).getInt64();
  d.offset_seconds = offset_us / 1000000;
  const int due_version = select.getColumn(9).getInt();
  d.alert_id = select.getColumn(2).isNull()
                   ? AlertIdFor(d.deadline_id, due_version, absl::Microseconds(offset_us))
                   : select.getColumn(2).getString();
  if (!with_payload) return due;
  if (!select.getColumn(7).isNull()) {
    d.payload = select.getColumn(7).getString();
    return due;
  }
  // Alerts store no body: it is a pure function of the row and its deadline,
  // so every attempt sends the same bytes.
  Alert a;
  a.alert_id = d.alert_id;
  a.tenant = d.tenant;
  a.deadline_id = d.deadline_id;
  a.kind = d.kind;
  a.resource = select.getColumn(8).getString();
  a.due_version = due_version;
  a.offset = absl::Microseconds(offset_us);
  a.due_at = absl::FromUnixMicros(select.getColumn(10).getInt64());
  a.fire_at = absl::FromUnixMicros(select.getColumn(11).getInt64());
  a.fired_at = absl::FromUnixMicros(select.getColumn(12).getInt64());
  d.payload = AlertPayload(a);
  return due;
}

}  // namespace

std::vector<DueDelivery> DueRetries(store::ReadTxn& txn, const std::string& sink, absl::Time now,
                                    int limit, bool with_payload) {
  const std::vector<delivery::delivery_rows::DueItem> items =
      delivery::delivery_rows::Due(txn, delivery::delivery_rows::AlertsChannel(sink), now, limit);
  std::vector<DueDelivery> out;
  if (items.empty()) return out;
  SQLite::Statement& select = txn.Prepare(absl::StrCat(
      "SELECT a.seq, 0, ", kDeliveryColumns,
      ", 0 FROM deadline_alerts a "
      "LEFT JOIN deadlines dl ON dl.tenant_id = a.tenant_id AND dl.deadline_id = a.deadline_id "
      "WHERE a.seq = ?"));
  for (const delivery::delivery_rows::DueItem& item : items) {
    select.reset();
    select.bind(1, item.item);
    if (!select.executeStep()) continue;  // alerts are never deleted
    DueDelivery due = ReadDelivery(select, with_payload);
    due.delivery.attempt = item.attempts + 1;
    due.due_us = absl::ToUnixMicros(item.next_attempt);
    out.push_back(std::move(due));
  }
  select.reset();
  return out;
}

std::vector<DueDelivery> FreshAlerts(store::ReadTxn& txn, const std::string& sink,
                                     int64_t after_seq, int limit, bool with_payload) {
  SQLite::Statement& select = txn.Prepare(absl::StrCat(
      "SELECT a.seq, 0, ", kDeliveryColumns,
      ", a.fired_at_us FROM deadline_alert_sinks s "
      "JOIN deadline_alerts a ON a.seq > MAX(s.delivered_seq, ?3) "
      "LEFT JOIN deadlines dl ON dl.tenant_id = a.tenant_id AND dl.deadline_id = a.deadline_id "
      "WHERE s.sink = ?1 ORDER BY a.seq LIMIT ?2"));
  select.bind(1, sink);
  select.bind(2, limit);
  select.bind(3, after_seq);
  std::vector<DueDelivery> out;
  while (select.executeStep()) out.push_back(ReadDelivery(select, with_payload));
  select.reset();
  return out;
}

bool AnyFreshAlert(store::ReadTxn& txn, const std::string& sink) {
  SQLite::Statement& fresh = txn.Prepare(
      "SELECT EXISTS (SELECT 1 FROM deadline_alert_sinks s JOIN deadline_alerts a "
      "ON a.seq > s.delivered_seq WHERE s.sink = ?)");
  fresh.bind(1, sink);
  const bool any = fresh.executeStep() && fresh.getColumn(0).getInt() != 0;
  fresh.reset();
  return any;
}

void AdvanceCursor(store::WriteTxn& txn, const std::string& sink, int64_t last_seq,
                   absl::Time now) {
  SQLite::Statement& cursor = txn.Prepare(
      "UPDATE deadline_alert_sinks SET delivered_seq = ?1, updated_at_us = ?2 "
      "WHERE sink = ?3 AND delivered_seq < ?1");
  cursor.bind(1, last_seq);
  cursor.bind(2, static_cast<int64_t>(absl::ToUnixMicros(now)));
  cursor.bind(3, sink);
  cursor.exec();
}

}  // namespace dsar::deadline::internal
