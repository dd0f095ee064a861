#include "lib/privacy_requests/transitions.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/connector/outbox.h"
#include "lib/connector/payload.h"
#include "lib/connector/registry.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/kinds.h"
#include "lib/privacy_requests/callbacks.h"
#include "lib/privacy_requests/request_rows.h"

namespace dsar::privacy_requests::internal {
namespace {

deadline::DeadlineKey Key(const PrivacyRequest& r, const char* kind) {
  return deadline::DeadlineKey{r.tenant, kind, r.name()};
}

// OK when the clock is already closed or was never started: closing twice
// (a retried step) changes nothing.
absl::Status IgnoreClosed(const absl::Status& s) {
  if (s.code() == absl::StatusCode::kFailedPrecondition ||
      s.code() == absl::StatusCode::kNotFound) {
    return absl::OkStatus();
  }
  return s;
}

const char* OpenDsrStatus(RequestState s) {
  switch (s) {
    case RequestState::kReceived:
    case RequestState::kVerified:
      return "pending";
    case RequestState::kInProgress:
    case RequestState::kFailed:
      return "in_progress";
    case RequestState::kCompleted:
      return "completed";
    case RequestState::kRejected:
    case RequestState::kCancelled:
      return "cancelled";
    case RequestState::kUnspecified:
      break;
  }
  return "pending";
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

}  // namespace

CallContext SystemContext(absl::string_view tenant, absl::string_view step) {
  CallContext ctx;
  ctx.principal = kSystemActor;
  ctx.role = Role::kUnspecified;
  ctx.tenant = std::string(tenant);
  ctx.method = absl::StrCat("dsard/requests.", step);
  return ctx;
}

std::string CallbackBody(const PrivacyRequest& r, absl::Time now) {
  nlohmann::json body = {
      {"controller_id", r.tenant},
      {"subject_request_id", r.name()},
      {"request_status", OpenDsrStatus(r.state)},
      {"state", RequestStateName(r.state)},
      {"request_type", RequestTypeName(r.type)},
      {"expected_completion_time", Rfc3339(r.due_at())},
      {"status_time", Rfc3339(now)},
      {"api_version", "dsar.v1"},
  };
  if (!r.requester.reference.empty()) body["controller_reference"] = r.requester.reference;
  return body.dump();
}

absl::Status Transition(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r, RequestState to,
                        absl::string_view actor, std::string detail, absl::Time now) {
  RETURN_IF_ERROR(CheckTransition(r.name(), r.state, to, RequestStateName(to)));
  StateChange change{r.state, to, std::string(actor), std::move(detail), now};
  r.state = to;
  r.updated_at = now;
  if (to == RequestState::kCompleted || to == RequestState::kRejected ||
      to == RequestState::kCancelled) {
    r.closed_at = now;
    r.stage = Stage::kNone;
    r.needs_work = false;
    rows::CloseSubjectKeys(txn, r.tenant, r.id);
  }
  rows::InsertEvent(txn, r.tenant, r.id, change);
  rows::Save(txn, r);
  const std::vector<std::string> urls = rows::CallbackUrls(txn, r.tenant, r.id, r.callback_url);
  if (!urls.empty()) {
    EnqueueCallbacks(txn, r.tenant, r.id, urls, CallbackBody(r, now), now);
  }
  return absl::OkStatus();
}

absl::Status ScheduleClocks(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r,
                            absl::Time now) {
  for (const char* kind : {deadline::kRequestProcessor, deadline::kRequestGdpr}) {
    deadline::ScheduleRequest s;
    s.tenant = r.tenant;
    s.kind = kind;
    s.resource = r.name();
    s.start = r.received_at;
    s.sla_group = absl::AsciiStrToLower(RequestTypeName(r.type));  // "access", ...
    ASSIGN_OR_RETURN(deadline::Deadline d, env.deadlines->Schedule(txn, s, now));
    (kind == deadline::kRequestGdpr ? r.gdpr_due_at : r.processor_due_at) = d.due_at;
  }
  return absl::OkStatus();
}

absl::Status PauseClocks(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r, absl::Time now) {
  for (const char* kind : {deadline::kRequestProcessor, deadline::kRequestGdpr}) {
    ASSIGN_OR_RETURN(deadline::Deadline d, env.deadlines->Pause(txn, Key(r, kind), now));
    (kind == deadline::kRequestGdpr ? r.gdpr_due_at : r.processor_due_at) = d.due_at;
  }
  r.clock_paused = true;
  return absl::OkStatus();
}

absl::Status ResumeClocks(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r,
                          absl::Time now) {
  if (!r.clock_paused) return absl::OkStatus();
  for (const char* kind : {deadline::kRequestProcessor, deadline::kRequestGdpr}) {
    ASSIGN_OR_RETURN(deadline::Deadline d, env.deadlines->Resume(txn, Key(r, kind), now));
    if (kind == deadline::kRequestGdpr) {
      r.gdpr_due_at = d.due_at;
      r.paused_total = d.paused_total;
    } else {
      r.processor_due_at = d.due_at;
    }
  }
  r.clock_paused = false;
  return absl::OkStatus();
}

absl::Status CloseClocks(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r, bool complete,
                         absl::Time now) {
  for (const char* kind : {deadline::kRequestProcessor, deadline::kRequestGdpr}) {
    absl::StatusOr<deadline::Deadline> d = complete
                                               ? env.deadlines->Complete(txn, Key(r, kind), now)
                                               : env.deadlines->Cancel(txn, Key(r, kind), now);
    RETURN_IF_ERROR(IgnoreClosed(d.status()));
  }
  r.clock_paused = false;
  return absl::OkStatus();
}

std::string SealSubject(const RequestEnv& env, absl::string_view request_id,
                        const std::vector<SubjectIdentifier>& subject) {
  connector::TaskPayload payload;
  for (const auto& id : subject) payload.subject.push_back({id.type, id.value});
  std::string sealed = env.sealer->Seal(payload, RequestName(request_id));
  for (auto& id : payload.subject) std::fill(id.value.begin(), id.value.end(), '\0');
  return sealed;
}

absl::StatusOr<std::vector<SubjectIdentifier>> OpenSubject(store::WriteTxn& txn, RequestEnv& env,
                                                           const PrivacyRequest& r) {
  std::optional<std::string> sealed = rows::LoadSealedSubject(txn, r.tenant, r.id);
  if (!sealed.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat(r.name(), ": the subject's identifiers were already destroyed"));
  }
  ASSIGN_OR_RETURN(connector::TaskPayload payload, env.sealer->Open(*sealed, r.name()));
  std::vector<SubjectIdentifier> out;
  for (auto& id : payload.subject) out.push_back({id.type, std::move(id.value)});
  return out;
}

absl::StatusOr<int> EnqueuePhase(store::WriteTxn& txn, RequestEnv& env, const PrivacyRequest& r,
                                 connector::TaskKind kind, TaskPhase phase,
                                 const std::vector<SubjectIdentifier>& subject, absl::Time now,
                                 absl::string_view only_connector) {
  connector::Outbox* outbox = env.outbox.load();
  if (outbox == nullptr || env.registry == nullptr) return 0;
  connector::TaskSpec spec;
  spec.tenant = r.tenant;
  spec.kind = kind;
  spec.resource = r.name();
  for (const auto& id : subject) spec.subject.push_back({id.type, id.value});
  int n = 0;
  for (const connector::ConnectorInfo* c : env.registry->Targets(r.tenant, kind, "")) {
    if (!only_connector.empty() && c->name != only_connector) continue;
    if (!r.only_systems.empty() &&
        std::find(r.only_systems.begin(), r.only_systems.end(), c->name) == r.only_systems.end()) {
      continue;
    }
    spec.connector = c->name;
    ASSIGN_OR_RETURN(std::string task_id, outbox->EnqueueTask(txn, spec, now));
    rows::InsertTask(txn, r.tenant, r.id, task_id, phase, c->name, now);
    ++n;
  }
  for (auto& id : spec.subject) std::fill(id.value.begin(), id.value.end(), '\0');
  return n;
}

absl::Status StartWork(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r,
                       absl::string_view actor, absl::Time now) {
  ASSIGN_OR_RETURN(std::vector<SubjectIdentifier> subject, OpenSubject(txn, env, r));
  const bool erasure = r.type == RequestType::kErasure;
  ASSIGN_OR_RETURN(int tasks,
                   EnqueuePhase(txn, env, r,
                                erasure ? connector::TaskKind::kSubjectErase
                                        : connector::TaskKind::kSubjectExport,
                                erasure ? TaskPhase::kErase : TaskPhase::kExport, subject, now));
  for (auto& id : subject) std::fill(id.value.begin(), id.value.end(), '\0');
  if (tasks == 0) {
    // No system to ask: the worker finishes at once.
    r.stage = erasure ? Stage::kErased : Stage::kAssembling;
    r.needs_work = true;
  } else {
    r.stage = erasure ? Stage::kErasing : Stage::kCollecting;
    r.needs_work = false;
  }
  return Transition(txn, env, r, RequestState::kInProgress, actor,
                    absl::StrCat(erasure ? "erasure" : "export", " sent to ", tasks,
                                 tasks == 1 ? " system" : " systems"),
                    now);
}

}  // namespace dsar::privacy_requests::internal
