// StateCounts: how much work dsard holds, by state, read from the store for
// the metrics endpoint: connector tasks by state, deadlines by state and
// overdue, alerts fired by level, alert deliveries by sink and state.
//
// It asks the modules that own the rows (connector::task_store::CountByState,
// lib/deadline/deadline_counts.h) in one read snapshot, and only turns their
// answers into labelled gauges: no module's tables are read here. Run per
// scrape; each count reads an index in its own order or a small table.
//
// Thread-safe (each call takes its own read snapshot).
#ifndef DSAR_LIB_OPS_STATE_COUNTS_H_
#define DSAR_LIB_OPS_STATE_COUNTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/ops/prometheus_text.h"
#include "lib/store/store.h"

namespace dsar::ops {

struct LabeledCount {
  Labels labels;
  int64_t count = 0;
};

struct StateCounts {
  std::vector<LabeledCount> tasks;             // tenant, connector, state
  std::vector<LabeledCount> deadlines;         // tenant, kind, state
  std::vector<LabeledCount> overdue;           // tenant, kind
  std::vector<LabeledCount> alerts_fired;      // tenant, level
  std::vector<LabeledCount> alert_deliveries;  // sink, state
};

// One read snapshot; `now` decides what is overdue.
absl::StatusOr<StateCounts> ReadStateCounts(store::Store& store, absl::Time now);

// dsar_connector_tasks, dsar_deadlines, dsar_deadlines_overdue,
// dsar_deadline_alerts_fired_total, dsar_deadline_alert_deliveries.
void WriteStateCounts(const StateCounts& counts, PrometheusText& out);

}  // namespace dsar::ops

#endif  // DSAR_LIB_OPS_STATE_COUNTS_H_
