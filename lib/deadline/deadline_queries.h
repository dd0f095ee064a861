// DeadlineQueries: the deadline module's read entry points for its API
// (dsar.v1.DeadlineService): listing deadlines, the SLA report and the alerts
// after a sequence number (WatchAlerts). Each call opens its own read
// transaction, applies the request's defaults and rules, and returns domain
// values; the gRPC adapter only converts. (Acknowledging an alert, a write,
// is AlertAcknowledgements.)
//
// Thread-safe: immutable after construction; each call reads on the calling
// thread (a pooled read connection).
#ifndef DSAR_LIB_DEADLINE_DEADLINE_QUERIES_H_
#define DSAR_LIB_DEADLINE_DEADLINE_QUERIES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/core/call_context.h"
#include "lib/core/clock.h"
#include "lib/deadline/alerts.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/sla_report.h"
#include "lib/store/store.h"

namespace dsar::deadline {

struct DeadlineListRequest {
  std::string kind;                                           // empty: every kind
  std::optional<DeadlineState> state = DeadlineState::kOpen;  // unset: any state
  std::optional<absl::Duration> due_within;                   // due before now + this
  bool overdue_only = false;
  int page_size = 0;  // 0 means 50
  std::string page_token;
};

struct DeadlineListing {
  std::vector<Deadline> deadlines;  // by due time, then id
  std::string next_page_token;      // empty on the last page
  absl::Time as_of;                 // the `now` overdue flags and paused time refer to
};

struct SlaReportRequest {
  std::string kind;                 // empty: every kind
  bool all_tenants = false;         // every configured tenant instead of the caller's
  std::optional<absl::Time> start;  // unset: 30 days before end
  std::optional<absl::Time> end;    // unset: now
};

struct SlaReportWindow {
  absl::Time start;
  absl::Time end;
  SlaReport report;
};

class DeadlineQueries {
 public:
  // None owned; all must outlive this object. `tenants`: the configured
  // tenant ids (an all-tenants SLA report).
  DeadlineQueries(store::Store* store, Clock* clock, const Deadlines* deadlines,
                  std::vector<std::string> tenants)
      : store_(store), clock_(clock), deadlines_(deadlines), tenants_(std::move(tenants)) {}

  // The caller's tenant's deadlines. INVALID_ARGUMENT ("due_within" negative,
  // "page_size", "page_token").
  absl::StatusOr<DeadlineListing> List(const CallContext& ctx,
                                       const DeadlineListRequest& request) const;

  // PERMISSION_DENIED (ErrorInfo "TENANT_NOT_ALLOWED") for an all-tenants
  // report by a principal of one tenant; INVALID_ARGUMENT as BuildSlaReport.
  absl::StatusOr<SlaReportWindow> SlaReportFor(const CallContext& ctx,
                                               const SlaReportRequest& request) const;

  // The caller's tenant's alerts with seq > after_seq, in seq order, at most
  // `limit`. INVALID_ARGUMENT ("after_sequence") when after_seq is negative.
  absl::StatusOr<std::vector<Alert>> AlertsAfter(absl::string_view tenant, int64_t after_seq,
                                                 int limit) const;

 private:
  store::Store* const store_;
  Clock* const clock_;
  const Deadlines* const deadlines_;
  const std::vector<std::string> tenants_;
};

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_DEADLINE_QUERIES_H_
