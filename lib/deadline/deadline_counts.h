// Deadline counts for the metrics endpoint: deadlines by state, the overdue
// ones, alerts fired by level, alert deliveries by sink and state.
//
// lib/ops asks the deadline module for these instead of reading its tables
// (issue 20). Each runs inside the caller's read snapshot and reads an index
// in its own order or a small table: deadlines by state scan
// deadlines_by_kind_state, the overdue ones are a range of
// deadlines_open_by_due per (tenant, kind) (migration 13). Implemented in
// deadline_rows.cc, the module's repository.
#ifndef DSAR_LIB_DEADLINE_DEADLINE_COUNTS_H_
#define DSAR_LIB_DEADLINE_DEADLINE_COUNTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "lib/store/txn.h"

namespace dsar::deadline {

struct DeadlineCount {
  std::string tenant;
  std::string kind;
  std::string state;  // open, completed, cancelled
  int64_t count = 0;
};
std::vector<DeadlineCount> CountByState(store::ReadTxn& txn);

// Open, running deadlines past their due time at `now`, per (tenant, kind)
// that has any; `by_state` (CountByState's answer) says which (tenant, kind)
// have open deadlines at all.
struct OverdueCount {
  std::string tenant;
  std::string kind;
  int64_t count = 0;
};
std::vector<OverdueCount> CountOverdue(store::ReadTxn& txn,
                                       const std::vector<DeadlineCount>& by_state, absl::Time now);

// Alerts fired (stored), per tenant and level (warning, due, overdue).
struct FiredCount {
  std::string tenant;
  std::string level;
  int64_t count = 0;
};
std::vector<FiredCount> CountAlertsFired(store::ReadTxn& txn);

// Alert deliveries per sink and state (pending, delivered, failed).
struct DeliveryCount {
  std::string sink;
  std::string state;
  int64_t count = 0;
};
std::vector<DeliveryCount> CountDeliveries(store::ReadTxn& txn);

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_DEADLINE_COUNTS_H_
