#include "lib/connector/outbox.h"

#include "absl/strings/str_cat.h"
#include "lib/connector/task_store.h"
#include "lib/core/errors.h"
#include "lib/core/ids.h"
#include "lib/store/idempotency.h"

namespace dsar::connector {
namespace {

absl::Status ValidateSpec(const TaskSpec& spec) {
  FieldErrors errors;
  if (spec.tenant.empty()) errors.Add("tenant", "required");
  if (spec.subject.empty()) errors.Add("subject", "at least one identifier is required");
  for (size_t i = 0; i < spec.subject.size(); ++i) {
    if (spec.subject[i].value.empty()) {
      errors.Add(absl::StrCat("subject[", i, "].value"), "must not be empty");
    }
  }
  if (spec.resource.size() > 256) errors.Add("resource", "at most 256 characters");
  if (spec.kind == TaskKind::kConsentApply && spec.purpose.empty()) {
    errors.Add("purpose", "required for consent.apply");
  }
  if (!spec.task_id.empty()) {
    // A task id is the connector call's idempotency key: the same rules.
    absl::Status id = store::ValidateIdempotencyKey(IdempotencyKey(spec.task_id));
    if (!id.ok()) errors.Add("task_id", "1-128 printable ASCII characters without spaces");
  }
  return errors.ToStatus("invalid connector task");
}

}  // namespace

absl::StatusOr<std::string> Outbox::EnqueueTask(store::WriteTxn& txn, const TaskSpec& spec,
                                                absl::Time now) const {
  if (absl::Status s = ValidateSpec(spec); !s.ok()) return s;
  const ConnectorInfo* connector = registry_->Find(spec.connector);
  if (connector == nullptr) {
    return WithErrorInfo(
        absl::NotFoundError(absl::StrCat("connectors/", spec.connector, " is not configured")),
        "CONNECTOR_NOT_FOUND");
  }
  if (!connector->Serves(spec.tenant) || !connector->Accepts(spec.kind)) {
    return FailedPreconditionWithViolations(
        "connector does not take this task",
        {{"CONNECTOR", absl::StrCat("connectors/", connector->name),
          absl::StrCat("does not take ", TaskKindName(spec.kind), " tasks for this tenant")}});
  }
  TaskInfo info;
  info.task_id = spec.task_id.empty() ? NewId("task") : spec.task_id;
  info.tenant = spec.tenant;
  info.kind = spec.kind;
  info.connector = spec.connector;
  info.resource = spec.resource;
  info.created = now;
  TaskPayload payload;
  payload.subject = spec.subject;
  if (spec.kind == TaskKind::kConsentApply) {
    payload.purpose = spec.purpose;
    payload.consent_given = spec.consent_given;
    payload.change_time = spec.change_time == absl::InfinitePast() ? now : spec.change_time;
  }
  absl::Status inserted = task_store::Insert(txn, info, sealer_->Seal(payload, info.task_id));
  if (!inserted.ok()) return inserted;
  return info.task_id;
}

absl::StatusOr<std::vector<std::string>> Outbox::EnqueueFanOut(store::WriteTxn& txn,
                                                               const TaskSpec& spec,
                                                               absl::Time now) const {
  if (absl::Status s = ValidateSpec(spec); !s.ok()) return s;
  std::vector<std::string> ids;
  for (const ConnectorInfo* c : registry_->Targets(spec.tenant, spec.kind, spec.purpose)) {
    TaskSpec one = spec;
    one.connector = c->name;
    one.task_id.clear();
    auto id = EnqueueTask(txn, one, now);
    if (!id.ok()) return id.status();
    ids.push_back(std::move(*id));
  }
  return ids;
}

void Outbox::Notify() const {
  absl::MutexLock lock(&mu_);
  if (wakeup_) wakeup_();
}

void Outbox::SetWakeup(absl::AnyInvocable<void()> wakeup) {
  absl::MutexLock lock(&mu_);
  wakeup_ = std::move(wakeup);
}

}  // namespace dsar::connector
