#include "lib/deadline/deadlines.h"

#include <limits>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/core/errors.h"
#include "lib/core/ids.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/deadline_rows.h"
#include "lib/store/page_token.h"

namespace dsar::deadline {

using internal::DurUs;
using internal::Us;

std::map<std::string, KindRule> DefaultKindRules() {
  std::map<std::string, KindRule> rules;
  rules[kRequestProcessor] = KindRule{DueRule{0, absl::Hours(72)}, true, std::nullopt};
  rules[kConnectorTaskDead] = KindRule{DueRule{0, absl::Seconds(1)}, false, std::nullopt};
  rules[kRetentionReview] = KindRule{DueRule{0, absl::Seconds(1)}, false, std::nullopt};
  rules[kRequestGdpr] =
      KindRule{DueRule{1, absl::ZeroDuration()}, true, DueRule{3, absl::ZeroDuration()}};
  rules[kBreachControllerNotification] = KindRule{DueRule{0, absl::Hours(72)}, false, std::nullopt};
  rules[kBreachAuthorityNotification] = KindRule{DueRule{0, absl::Hours(72)}, false, std::nullopt};
  rules[kBreachSubjectCommunication] = KindRule{DueRule{0, absl::Hours(72)}, false, std::nullopt};
  rules[kConsentWithdrawalPropagation] = KindRule{DueRule{0, absl::Hours(72)}, false, std::nullopt};
  return rules;
}

const char* DeadlineStateName(DeadlineState state) {
  switch (state) {
    case DeadlineState::kOpen:
      return "open";
    case DeadlineState::kCompleted:
      return "completed";
    case DeadlineState::kCancelled:
      return "cancelled";
  }
  return "open";
}

namespace {

absl::Status StateError(const Deadline& d, absl::string_view what) {
  return FailedPreconditionWithViolations(
      absl::StrCat("deadline ", d.deadline_id, " ", what),
      {{"STATE", d.name(),
        absl::StrCat("deadline is ", DeadlineStateName(d.state), d.paused() ? " (paused)" : "")}});
}

absl::Status ValidateKey(const DeadlineKey& key) {
  FieldErrors errors;
  if (key.tenant.empty()) errors.Add("tenant", "required");
  if (key.kind.empty()) errors.Add("kind", "required");
  if (key.resource.empty()) errors.Add("resource", "required");
  return errors.ToStatus("invalid deadline key");
}

template <typename Txn>
absl::StatusOr<Deadline> FindExisting(Txn& txn, const DeadlineKey& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::optional<Deadline> d = internal::LoadByKey(txn, key);
  if (!d.has_value()) {
    return absl::NotFoundError(absl::StrCat("no ", key.kind, " deadline for ", key.resource));
  }
  return *d;
}

// Loads the key's deadline and requires it to be open.
absl::StatusOr<Deadline> FindOpen(store::WriteTxn& txn, const DeadlineKey& key,
                                  absl::string_view action) {
  ASSIGN_OR_RETURN(Deadline d, FindExisting(txn, key));
  if (d.state != DeadlineState::kOpen) {
    return StateError(d, absl::StrCat("cannot be ", action));
  }
  return d;
}

// Ends a pause at `now`: the due time moves by the time spent paused.
void EndPause(Deadline& d, absl::Time now) {
  if (!d.paused()) return;
  const absl::Duration paused = now - *d.paused_at;
  if (paused > absl::ZeroDuration()) {
    d.due_at += paused;
    d.paused_total += paused;
  }
  d.paused_at.reset();
}

void Close(Deadline& d, DeadlineState state, absl::Time now) {
  EndPause(d, now);
  d.state = state;
  d.closed_at = now;
  d.next_offset.reset();
  d.next_alert_at.reset();
  d.updated_at = now;
}

constexpr int kMaxResourceLength = 256;
constexpr int kMaxReasonLength = 1000;

}  // namespace

absl::StatusOr<std::unique_ptr<Deadlines>> Deadlines::Create(DeadlineOptions options) {
  RETURN_IF_ERROR(ValidateLevels(options.levels));
  for (const auto& [kind, rule] : options.kinds) {
    if (kind.empty()) return absl::InvalidArgumentError("deadline kind names must not be empty");
    if (rule.due.calendar_months < 0 || rule.due.elapsed < absl::ZeroDuration() ||
        (rule.due.calendar_months == 0 && rule.due.elapsed == absl::ZeroDuration())) {
      return absl::InvalidArgumentError(
          absl::StrCat("deadline kind ", kind, " needs a positive period"));
    }
  }
  return std::unique_ptr<Deadlines>(new Deadlines(std::move(options)));
}

void Deadlines::Notify(const Deadline& d) const {
  if (!d.next_alert_at.has_value()) return;
  if (ScheduleObserver* observer = observer_.load()) {
    observer->OnNextAlert(d.tenant, d.deadline_id, *d.next_alert_at);
  }
}

absl::StatusOr<absl::Time> Deadlines::DueFor(absl::string_view kind, absl::Time start) const {
  auto rule = options_.kinds.find(std::string(kind));
  if (rule == options_.kinds.end()) {
    return InvalidField("kind", absl::StrCat("unknown deadline kind \"", kind, "\""));
  }
  return ComputeDue(start, rule->second.due, options_.time_zone);
}

absl::StatusOr<absl::Time> Deadlines::ExtensionLimit(const Deadline& d) const {
  auto rule = options_.kinds.find(d.kind);
  if (rule == options_.kinds.end() || !rule->second.extendable) {
    return FailedPreconditionWithViolations(
        absl::StrCat("a ", d.kind, " deadline cannot be extended"),
        {{"KIND", d.name(), "this kind of deadline is fixed"}});
  }
  if (!rule->second.extension_limit.has_value()) return absl::InfiniteFuture();
  // Time spent paused does not count against the limit.
  return ComputeDue(d.started_at, *rule->second.extension_limit, options_.time_zone) +
         d.paused_total;
}

absl::StatusOr<Deadline> Deadlines::Schedule(store::WriteTxn& txn, const ScheduleRequest& request,
                                             absl::Time now) const {
  FieldErrors errors;
  if (request.tenant.empty()) errors.Add("tenant", "required");
  auto rule = options_.kinds.find(request.kind);
  if (rule == options_.kinds.end()) {
    errors.Add("kind", absl::StrCat("unknown deadline kind \"", request.kind, "\""));
  }
  if (request.resource.empty() || static_cast<int>(request.resource.size()) > kMaxResourceLength) {
    errors.Add("resource", "required, at most 256 characters");
  }
  if (request.start == absl::InfinitePast() || request.start == absl::InfiniteFuture()) {
    errors.Add("start", "required");
  } else if (request.due.has_value() && *request.due <= request.start) {
    errors.Add("due", "must be after start");
  }
  if (request.sla_group.size() > 32) errors.Add("sla_group", "at most 32 characters");
  RETURN_IF_ERROR(errors.ToStatus("invalid deadline"));

  const DeadlineKey key{request.tenant, request.kind, request.resource};
  if (std::optional<Deadline> existing = internal::LoadByKey(txn, key);
      existing.has_value() && existing->state == DeadlineState::kOpen) {
    return WithErrorInfo(
        absl::AlreadyExistsError(absl::StrCat("an open ", request.kind, " deadline exists for ",
                                              request.resource, ": ", existing->deadline_id)),
        "DEADLINE_ALREADY_OPEN", {{"deadline", existing->name()}});
  }

  Deadline d;
  d.tenant = request.tenant;
  d.deadline_id = NewTimeOrderedId("dl", now);
  d.kind = request.kind;
  d.resource = request.resource;
  d.state = DeadlineState::kOpen;
  d.started_at = request.start;
  d.due_at = request.due.has_value()
                 ? *request.due
                 : ComputeDue(request.start, rule->second.due, options_.time_zone);
  d.initial_due_at = d.due_at;
  d.next_offset = StartLevel(options_.levels, d.due_at, now);
  d.next_alert_at = d.due_at + *d.next_offset;
  d.created_at = now;
  d.updated_at = now;

  internal::InsertDeadline(txn, d, request.sla_group);
  Notify(d);
  return d;
}

absl::StatusOr<Deadline> Deadlines::Complete(store::WriteTxn& txn, const DeadlineKey& key,
                                             absl::Time now) const {
  ASSIGN_OR_RETURN(Deadline d, FindOpen(txn, key, "completed"));
  Close(d, DeadlineState::kCompleted, now);
  internal::UpdateDeadline(txn, d);
  return d;
}

absl::StatusOr<Deadline> Deadlines::Cancel(store::WriteTxn& txn, const DeadlineKey& key,
                                           absl::Time now) const {
  ASSIGN_OR_RETURN(Deadline d, FindOpen(txn, key, "cancelled"));
  Close(d, DeadlineState::kCancelled, now);
  internal::UpdateDeadline(txn, d);
  return d;
}

absl::StatusOr<Deadline> Deadlines::Extend(store::WriteTxn& txn, const DeadlineKey& key,
                                           absl::Time new_due, absl::string_view reason,
                                           absl::Time now) const {
  if (reason.empty() || static_cast<int>(reason.size()) > kMaxReasonLength) {
    return InvalidField("reason", "required, at most 1000 characters");
  }
  ASSIGN_OR_RETURN(Deadline d, FindOpen(txn, key, "extended"));
  ASSIGN_OR_RETURN(absl::Time limit, ExtensionLimit(d));
  if (d.paused()) return StateError(d, "cannot be extended while paused; resume it first");
  if (now >= d.due_at) {
    return FailedPreconditionWithViolations(
        absl::StrCat("deadline ", d.deadline_id, " has already passed"),
        {{"DEADLINE_PASSED", d.name(), "an extension must be decided before the due time"}});
  }
  if (new_due <= d.due_at) {
    return InvalidField("new_due", "must be later than the current due time");
  }
  if (new_due > limit) {
    return InvalidField(
        "new_due", absl::StrCat("must not be later than ",
                                absl::FormatTime(absl::RFC3339_sec, limit, absl::UTCTimeZone()),
                                " for a ", d.kind, " deadline"));
  }
  d.due_at = new_due;
  ++d.due_version;
  ++d.extension_count;
  d.extension_reason = std::string(reason);
  d.next_offset = StartLevel(options_.levels, d.due_at, now);
  d.next_alert_at = d.due_at + *d.next_offset;
  d.updated_at = now;
  internal::UpdateDeadline(txn, d);
  Notify(d);
  return d;
}

absl::StatusOr<Deadline> Deadlines::Pause(store::WriteTxn& txn, const DeadlineKey& key,
                                          absl::Time now) const {
  ASSIGN_OR_RETURN(Deadline d, FindOpen(txn, key, "paused"));
  if (d.paused()) return StateError(d, "is already paused");
  d.paused_at = now;
  d.next_alert_at.reset();  // next_offset is kept for Resume
  d.updated_at = now;
  internal::UpdateDeadline(txn, d);
  return d;
}

absl::StatusOr<Deadline> Deadlines::Resume(store::WriteTxn& txn, const DeadlineKey& key,
                                           absl::Time now) const {
  ASSIGN_OR_RETURN(Deadline d, FindOpen(txn, key, "resumed"));
  if (!d.paused()) return StateError(d, "is not paused");
  EndPause(d, now);
  if (d.next_offset.has_value()) d.next_alert_at = d.due_at + *d.next_offset;
  d.updated_at = now;
  internal::UpdateDeadline(txn, d);
  Notify(d);
  return d;
}

absl::StatusOr<Deadline> Deadlines::Get(store::ReadTxn& txn, absl::string_view tenant,
                                        absl::string_view deadline_id) const {
  if (tenant.empty()) return InvalidField("tenant", "required");
  std::optional<Deadline> d = internal::LoadById(txn, tenant, deadline_id);
  if (!d.has_value()) return absl::NotFoundError(absl::StrCat("deadline ", deadline_id));
  return *d;
}

absl::StatusOr<Deadline> Deadlines::Find(store::ReadTxn& txn, const DeadlineKey& key) const {
  return FindExisting(txn, key);
}

absl::StatusOr<Deadline> Deadlines::Find(store::WriteTxn& txn, const DeadlineKey& key) const {
  return FindExisting(txn, key);
}

absl::StatusOr<DeadlinePage> Deadlines::List(store::ReadTxn& txn, const ListQuery& query,
                                             absl::Time now) const {
  FieldErrors errors;
  if (query.tenant.empty()) errors.Add("tenant", "required");
  if (query.page_size < 0 || query.page_size > 1000) {
    errors.Add("page_size", "must be between 0 and 1000");
  }
  // Page token: the (due_us, deadline_id) of the last row, bound to the filter.
  const std::string tag = store::PageFilterTag(
      {query.tenant, query.kind,
       query.state.has_value() ? absl::StrCat(static_cast<int>(*query.state)) : "any",
       query.due_before.has_value() ? absl::StrCat(Us(*query.due_before)) : "",
       query.overdue_only ? "overdue" : ""});
  int64_t after_due = std::numeric_limits<int64_t>::min();
  std::string after_id;
  if (!query.page_token.empty()) {
    auto position = store::DecodePageToken(query.page_token, tag, 2);
    if (!position.has_value() || !absl::SimpleAtoi((*position)[0], &after_due)) {
      errors.Add("page_token", "not a token returned by ListDeadlines for this query");
    } else {
      after_id = (*position)[1];
    }
  }
  RETURN_IF_ERROR(errors.ToStatus("invalid list request"));
  const int page_size = query.page_size == 0 ? 50 : query.page_size;

  int64_t due_before = std::numeric_limits<int64_t>::max();
  if (query.due_before.has_value()) due_before = Us(*query.due_before);
  if (query.overdue_only) due_before = std::min(due_before, Us(now) + 1);
  // With a state the query is a range of the (tenant_id, state, due_at_us,
  // deadline_id) index (internal::ListDeadlineRows).
  std::string state;
  if (query.overdue_only) {
    state = "open";
  } else if (query.state.has_value()) {
    state = DeadlineStateName(*query.state);
  }
  internal::DeadlineRange range;
  range.tenant = query.tenant;
  range.state = state;
  range.kind = query.kind;
  range.due_before_us = due_before;
  range.after_due_us = after_due;
  range.after_id = after_id;
  range.unpaused_only = query.overdue_only;
  range.limit = page_size + 1;
  std::vector<Deadline> rows = internal::ListDeadlineRows(txn, range);
  DeadlinePage page;
  for (Deadline& d : rows) {
    if (static_cast<int>(page.deadlines.size()) == page_size) {
      const Deadline& last = page.deadlines.back();
      page.next_page_token =
          store::EncodePageToken({absl::StrCat(Us(last.due_at)), last.deadline_id}, tag);
      break;
    }
    page.deadlines.push_back(std::move(d));
  }
  return page;
}

}  // namespace dsar::deadline
