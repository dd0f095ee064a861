#include "lib/ops/state_counts.h"

#include "lib/connector/task_store.h"
#include "lib/deadline/deadline_counts.h"

namespace dsar::ops {

absl::StatusOr<StateCounts> ReadStateCounts(store::Store& store, absl::Time now) {
  StateCounts counts;
  absl::Status status = store.Read([&](store::ReadTxn& txn) -> absl::Status {
    for (const auto& c : connector::task_store::CountByState(txn)) {
      counts.tasks.push_back(
          {{{"tenant", c.tenant}, {"connector", c.connector}, {"state", c.state}}, c.count});
    }
    const std::vector<deadline::DeadlineCount> deadlines = deadline::CountByState(txn);
    for (const auto& c : deadlines) {
      counts.deadlines.push_back(
          {{{"tenant", c.tenant}, {"kind", c.kind}, {"state", c.state}}, c.count});
    }
    for (const auto& c : deadline::CountOverdue(txn, deadlines, now)) {
      counts.overdue.push_back({{{"tenant", c.tenant}, {"kind", c.kind}}, c.count});
    }
    for (const auto& c : deadline::CountAlertsFired(txn)) {
      counts.alerts_fired.push_back({{{"tenant", c.tenant}, {"level", c.level}}, c.count});
    }
    for (const auto& c : deadline::CountDeliveries(txn)) {
      counts.alert_deliveries.push_back({{{"sink", c.sink}, {"state", c.state}}, c.count});
    }
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
