#include "lib/ops/state_counts.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>

#include <initializer_list>

namespace dsar::ops {
namespace {

// Runs a GROUP BY whose first columns are the label values and whose last
// column is the count.
void Collect(store::ReadTxn& txn, const char* sql, std::initializer_list<const char*> names,
             std::vector<LabeledCount>* out) {
  SQLite::Statement& stmt = txn.Prepare(sql);
  while (stmt.executeStep()) {
    LabeledCount row;
    int column = 0;
    for (const char* name : names)
      row.labels.push_back({name, stmt.getColumn(column++).getString()});
    row.count = stmt.getColumn(column).getInt64();
    out->push_back(std::move(row));
  }
}

}  // namespace

absl::StatusOr<StateCounts> ReadStateCounts(store::Store& store, absl::Time now) {
  StateCounts counts;
  const int64_t now_us = absl::ToUnixMicros(now);
  absl::Status status = store.Read([&](store::ReadTxn& txn) -> absl::Status {
    Collect(txn,
            "SELECT tenant_id, connector, state, COUNT(*) FROM outbox_tasks "
            "GROUP BY tenant_id, connector, state",
            {"tenant", "connector", "state"}, &counts.tasks);
    Collect(txn,
            "SELECT tenant_id, kind, state, COUNT(*) FROM deadlines "
            "GROUP BY tenant_id, kind, state",
            {"tenant", "kind", "state"}, &counts.deadlines);
    // Overdue: for each (tenant, kind) with open deadlines, one range of
    // deadlines_open_by_due (only the overdue entries are read).
    SQLite::Statement& overdue = txn.Prepare(
        "SELECT COUNT(*) FROM deadlines WHERE tenant_id = ?1 AND kind = ?2 AND state = 'open' "
        "AND paused_at_us IS NULL AND due_at_us <= ?3");
    for (const LabeledCount& group : counts.deadlines) {
      if (group.labels[2].second != "open") continue;
      overdue.bind(1, group.labels[0].second);
      overdue.bind(2, group.labels[1].second);
      overdue.bind(3, now_us);
      const int64_t n = overdue.executeStep() ? overdue.getColumn(0).getInt64() : 0;
      overdue.reset();
      if (n > 0) counts.overdue.push_back({{group.labels[0], group.labels[1]}, n});
    }
    Collect(txn,
            "SELECT tenant_id, CASE WHEN offset_us < 0 THEN 'warning' WHEN offset_us = 0 "
            "THEN 'due' ELSE 'overdue' END AS level, COUNT(*) FROM deadline_alerts "
            "GROUP BY tenant_id, level",
            {"tenant", "level"}, &counts.alerts_fired);
    Collect(txn, "SELECT sink, state, n FROM deadline_alert_delivery_counts ORDER BY sink, state",
            {"sink", "state"}, &counts.alert_deliveries);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return counts;
}

void WriteStateCounts(const StateCounts& counts, PrometheusText& out) {
  auto write = [&](const char* name, const char* type, const char* help,
                   const std::vector<LabeledCount>& rows) {
    out.Family(name, type, help);
    for (const auto& row : rows) out.Sample(name, row.labels, static_cast<double>(row.count));
  };
  write("dsar_connector_tasks", "gauge",
        "Connector tasks in the outbox, by tenant, connector and state (dead = dead-lettered).",
        counts.tasks);
  write("dsar_deadlines", "gauge", "Deadlines by tenant, kind and state.", counts.deadlines);
  write("dsar_deadlines_overdue", "gauge",
        "Open, running deadlines past their due time, by tenant and kind.", counts.overdue);
  write("dsar_deadline_alerts_fired_total", "counter",
        "Deadline alerts fired (stored), by tenant and level.", counts.alerts_fired);
  write("dsar_deadline_alert_deliveries", "gauge",
        "Alert deliveries to each sink by state (pending, delivered, failed).",
        counts.alert_deliveries);
}

}  // namespace dsar::ops
