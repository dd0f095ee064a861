#include "lib/deadline/sla_report.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "lib/core/errors.h"
#include "lib/core/status_macros.h"

namespace dsar::deadline {

absl::Duration NearestRankPercentile(const std::vector<absl::Duration>& sorted, double p) {
  if (sorted.empty()) return absl::ZeroDuration();
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  if (index >= sorted.size()) index = sorted.size() - 1;
  return sorted[index];
}

absl::StatusOr<SlaReport> BuildSlaReport(store::ReadTxn& txn, const SlaQuery& query,
                                         absl::Time now) {
  FieldErrors errors;
  if (query.tenant.empty()) errors.Add("tenant", "required");
  if (query.end <= query.start) errors.Add("end", "must be after start");
  RETURN_IF_ERROR(errors.ToStatus("invalid SLA report request"));

  struct Acc {
    KindSla sla;
    std::vector<absl::Duration> times;
  };
  std::map<std::string, Acc> by_kind;
  auto acc = [&](const std::string& kind) -> Acc& {
    Acc& a = by_kind[kind];
    a.sla.tenant = query.tenant;
    a.sla.kind = kind;
    return a;
  };

  // Closed in the window: a range of the deadlines_by_close index.
  SQLite::Statement& closed = txn.Prepare(
      "SELECT kind, state, closed_at_us - started_at_us - paused_total_us, "
      "closed_at_us <= due_at_us FROM deadlines INDEXED BY deadlines_by_close "
      "WHERE tenant_id = ?1 AND closed_at_us >= ?2 AND closed_at_us < ?3 "
      "AND closed_at_us IS NOT NULL AND (?4 = '' OR kind = ?4)");
  closed.bind(1, query.tenant);
  closed.bind(2, static_cast<int64_t>(absl::ToUnixMicros(query.start)));
  closed.bind(3, static_cast<int64_t>(absl::ToUnixMicros(query.end)));
  closed.bind(4, query.kind);
  while (closed.executeStep()) {
    Acc& a = acc(closed.getColumn(0).getString());
    if (closed.getColumn(1).getString() == "cancelled") {
      ++a.sla.cancelled;
      continue;
    }
    ++a.sla.completed;
    if (closed.getColumn(3).getInt() != 0) ++a.sla.completed_on_time;
    a.times.push_back(absl::Microseconds(closed.getColumn(2).getInt64()));
  }
  closed.reset();

  // Open now: a range of the (tenant_id, state, due_at_us) index.
  SQLite::Statement& open = txn.Prepare(
      "SELECT kind, COUNT(*), SUM(paused_at_us IS NULL AND due_at_us <= ?2) FROM deadlines "
      "WHERE tenant_id = ?1 AND state = 'open' AND (?3 = '' OR kind = ?3) GROUP BY kind");
  open.bind(1, query.tenant);
  open.bind(2, static_cast<int64_t>(absl::ToUnixMicros(now)));
  open.bind(3, query.kind);
  while (open.executeStep()) {
    Acc& a = acc(open.getColumn(0).getString());
    a.sla.open = open.getColumn(1).getInt64();
    a.sla.overdue = open.getColumn(2).getInt64();
  }
  open.reset();

  SlaReport report;
  for (auto& [kind, a] : by_kind) {
    std::sort(a.times.begin(), a.times.end());
    if (a.sla.completed > 0) {
      a.sla.on_time_rate =
          static_cast<double>(a.sla.completed_on_time) / static_cast<double>(a.sla.completed);
    }
    a.sla.time_to_close_p50 = NearestRankPercentile(a.times, 50);
    a.sla.time_to_close_p90 = NearestRankPercentile(a.times, 90);
    a.sla.time_to_close_p99 = NearestRankPercentile(a.times, 99);
    report.kinds.push_back(std::move(a.sla));
  }
  return report;
}

}  // namespace dsar::deadline
