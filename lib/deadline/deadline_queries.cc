#include "lib/deadline/deadline_queries.h"

#include "lib/core/errors.h"

namespace dsar::deadline {

absl::StatusOr<DeadlineListing> DeadlineQueries::List(const CallContext& ctx,
                                                      const DeadlineListRequest& request) const {
  DeadlineListing out;
  out.as_of = clock_->Now();
  ListQuery q;
  q.tenant = ctx.tenant;
  q.kind = request.kind;
  q.state = request.state;
  if (request.due_within.has_value()) {
    if (*request.due_within < absl::ZeroDuration()) {
      return InvalidField("due_within", "must not be negative");
    }
    q.due_before = out.as_of + *request.due_within;
  }
  q.overdue_only = request.overdue_only;
  q.page_size = request.page_size;
  q.page_token = request.page_token;
  absl::StatusOr<DeadlinePage> page = absl::UnknownError("not read");
  absl::Status read = store_->Read([&](store::ReadTxn& txn) {
    page = deadlines_->List(txn, q, out.as_of);
    return page.status();
  });
  if (!read.ok()) return read;
  out.deadlines = std::move(page->deadlines);
  out.next_page_token = std::move(page->next_page_token);
  return out;
}

absl::StatusOr<SlaReportWindow> DeadlineQueries::SlaReportFor(
    const CallContext& ctx, const SlaReportRequest& request) const {
  const absl::Time now = clock_->Now();
  SlaQuery q;
  q.tenant = ctx.tenant;
  q.kind = request.kind;
  if (request.all_tenants) {
    if (!ctx.all_tenants) {
      return WithErrorInfo(
          absl::PermissionDeniedError("only a principal of all tenants may report on all tenants"),
          "TENANT_NOT_ALLOWED");
    }
    q.all_tenants = true;
    q.tenants = tenants_;
  }
  q.end = request.end.value_or(now);
  q.start = request.start.value_or(q.end - absl::Hours(24 * 30));
  absl::StatusOr<SlaReport> report = absl::UnknownError("not read");
  absl::Status read = store_->Read([&](store::ReadTxn& txn) {
    report = BuildSlaReport(txn, q, now);
    return report.status();
  });
  if (!read.ok()) return read;
  return SlaReportWindow{q.start, q.end, *std::move(report)};
}

absl::StatusOr<std::vector<Alert>> DeadlineQueries::AlertsAfter(absl::string_view tenant,
                                                                int64_t after_seq,
                                                                int limit) const {
  if (after_seq < 0) return InvalidField("after_sequence", "must not be negative");
  absl::StatusOr<std::vector<Alert>> page = absl::UnknownError("not read");
  absl::Status read = store_->Read([&](store::ReadTxn& txn) {
    page = ListAlertsAfter(txn, tenant, after_seq, limit);
    return page.status();
  });
  if (!read.ok()) return read;
  return page;
}

}  // namespace dsar::deadline
