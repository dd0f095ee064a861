// SLA report: how well deadlines are met, per tenant, kind and request type.
//
// Over a window of close times [start, end) (at most kMaxSlaWindow long):
// deadlines completed, how many on time (closed at or before their due time,
// extensions included), the on-time rate, and time-to-close percentiles
// (close - start - time paused); plus, at `now`, the open and overdue counts.
// Cancelled deadlines are counted but excluded from the on-time rate.
//
// The two clocks of data-subject requests (request.processor, request.gdpr)
// are reported per request type ("access", "portability", "erasure"): the
// type is read from the request's row (privacy_requests, joined on the
// deadline's resource "privacyRequests/{id}"). Other kinds have no type.
//
// With `all_tenants`, every tenant in `tenants` is reported (one query per
// tenant on the deadlines_by_close index) and each (kind, request type) gets
// a further entry with tenant "*" that sums them (percentiles over all).
// Thread-safe (each call has its own txn).
#ifndef DSAR_LIB_DEADLINE_SLA_REPORT_H_
#define DSAR_LIB_DEADLINE_SLA_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/store/txn.h"

namespace dsar::deadline {

// Longest window a report covers (a year and a bit, for annual reviews).
inline constexpr absl::Duration kMaxSlaWindow = absl::Hours(24 * 400);
// The tenant of the entries that sum every tenant.
inline constexpr char kAllTenantsSla[] = "*";

struct SlaQuery {
  std::string tenant;                // required unless all_tenants
  std::string kind;                  // empty: every kind
  absl::Time start;                  // window of close times, inclusive
  absl::Time end;                    // exclusive; after start, at most kMaxSlaWindow later
  bool all_tenants = false;          // report every tenant of `tenants` instead
  std::vector<std::string> tenants;  // with all_tenants
};

struct KindSla {
  std::string tenant;  // or kAllTenantsSla
  std::string kind;
  // The deadlines' sla_group (ScheduleRequest): a privacy request's type
  // ("access", "portability", "erasure"); empty for other kinds.
  std::string request_type;
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
  std::vector<KindSla> kinds;  // by tenant ("*" first), kind, request type
};

// INVALID_ARGUMENT (fields "tenant", "start_time", "end_time").
absl::StatusOr<SlaReport> BuildSlaReport(store::ReadTxn& txn, const SlaQuery& query,
                                         absl::Time now);

// Nearest-rank percentile (p in (0, 100]) of sorted values; zero when empty.
absl::Duration NearestRankPercentile(const std::vector<absl::Duration>& sorted, double p);

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_SLA_REPORT_H_
