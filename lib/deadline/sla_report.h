// SLA report: how well a tenant's deadlines are met, per kind.
//
// Over a window of close times [start, end): deadlines completed, how many on
// time (closed at or before their due time, extensions included), the on-time
// rate, and time-to-close percentiles (close - start - time paused); plus,
// at `now`, the open and overdue counts. Cancelled deadlines are counted but
// excluded from the on-time rate. Thread-safe (each call has its own txn).
#ifndef DSAR_LIB_DEADLINE_SLA_REPORT_H_
#define DSAR_LIB_DEADLINE_SLA_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/store/txn.h"

namespace dsar::deadline {

struct SlaQuery {
  std::string tenant;    // required
  std::string kind;      // empty: every kind
  absl::Time start;      // window of close times, inclusive
  absl::Time end;        // exclusive; must be after start
};

struct KindSla {
  std::string tenant;
  std::string kind;
  int64_t completed = 0;
  int64_t completed_on_time = 0;
  int64_t cancelled = 0;
  double on_time_rate = 0;  // completed_on_time / completed; 0 when none
  int64_t open = 0;         // at `now`, whatever the window
  int64_t overdue = 0;      // open, not paused, due <= now
  absl::Duration time_to_close_p50 = absl::ZeroDuration();
  absl::Duration time_to_close_p90 = absl::ZeroDuration();
  absl::Duration time_to_close_p99 = absl::ZeroDuration();
};

struct SlaReport {
  std::vector<KindSla> kinds;  // sorted by kind
};

// INVALID_ARGUMENT (fields "tenant", "end").
absl::StatusOr<SlaReport> BuildSlaReport(store::ReadTxn& txn, const SlaQuery& query,
                                         absl::Time now);

// Nearest-rank percentile (p in (0, 100]) of sorted values; zero when empty.
absl::Duration NearestRankPercentile(const std::vector<absl::Duration>& sorted, double p);

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_SLA_REPORT_H_
