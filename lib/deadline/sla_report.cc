#include "lib/deadline/sla_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "lib/core/errors.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/deadline_rows.h"

namespace dsar::deadline {
namespace {

struct Acc {
  KindSla sla;
  std::vector<absl::Duration> times;
};
using Key = std::tuple<std::string, std::string, std::string>;  // tenant, kind, sla_group

void AddTenant(store::ReadTxn& txn, const std::string& tenant, const SlaQuery& query,
               absl::Time now, std::map<Key, Acc>& by_key) {
  auto acc = [&](const std::string& kind, const std::string& group) -> Acc& {
    Acc& a = by_key[Key{tenant, kind, group}];
    a.sla.tenant = tenant;
    a.sla.kind = kind;
    a.sla.request_type = group;
    return a;
  };
  for (const internal::ClosedDeadline& c :
       internal::ClosedInWindow(txn, tenant, query.start, query.end, query.kind)) {
    Acc& a = acc(c.kind, c.sla_group);
    if (c.cancelled) {
      ++a.sla.cancelled;
      continue;
    }
    ++a.sla.completed;
    if (c.on_time) ++a.sla.completed_on_time;
    a.times.push_back(c.time_to_close);
  }
  for (const internal::OpenCount& o : internal::OpenByKindAndGroup(txn, tenant, now, query.kind)) {
    Acc& a = acc(o.kind, o.sla_group);
    a.sla.open = o.open;
    a.sla.overdue = o.overdue;
  }
}

}  // namespace

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
  if (!query.all_tenants && query.tenant.empty()) errors.Add("tenant", "required");
  if (query.end <= query.start) {
    errors.Add("end_time", "must be after start_time");
  } else if (query.end - query.start > kMaxSlaWindow) {
    errors.Add("start_time", absl::StrCat("the window may span at most ",
                                          absl::ToInt64Hours(kMaxSlaWindow) / 24, " days"));
  }
  RETURN_IF_ERROR(errors.ToStatus("invalid SLA report request"));

  std::map<Key, Acc> by_key;
  if (query.all_tenants) {
    for (const std::string& tenant : query.tenants) AddTenant(txn, tenant, query, now, by_key);
    // Every tenant together, per kind and request type.
    std::map<Key, Acc> totals;
    for (const auto& [key, a] : by_key) {
      Acc& t = totals[Key{kAllTenantsSla, std::get<1>(key), std::get<2>(key)}];
      t.sla.tenant = kAllTenantsSla;
      t.sla.kind = a.sla.kind;
      t.sla.request_type = a.sla.request_type;
      t.sla.completed += a.sla.completed;
      t.sla.completed_on_time += a.sla.completed_on_time;
      t.sla.cancelled += a.sla.cancelled;
      t.sla.open += a.sla.open;
      t.sla.overdue += a.sla.overdue;
      t.times.insert(t.times.end(), a.times.begin(), a.times.end());
    }
    by_key.merge(totals);
  } else {
    AddTenant(txn, query.tenant, query, now, by_key);
  }

  SlaReport report;
  for (auto& [key, a] : by_key) {
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
