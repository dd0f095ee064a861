#include "lib/privacy_requests/privacy_requests.h"

#include <sodium.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/audit/audit_log.h"
#include "lib/connector/outbox.h"
#include "lib/connector/task_store.h"
#include "lib/consent/subject_keyer.h"
#include "lib/core/clock.h"
#include "lib/core/errors.h"
#include "lib/core/ids.h"
#include "lib/core/log.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/kinds.h"
#include "lib/privacy_requests/callbacks.h"
#include "lib/privacy_requests/export_files.h"
#include "lib/privacy_requests/identifiers.h"
#include "lib/privacy_requests/request_rows.h"
#include "lib/privacy_requests/transitions.h"
#include "lib/store/idempotency.h"
#include "lib/store/page_token.h"
#include "lib/store/store.h"

namespace dsar::privacy_requests {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr size_t kMaxReason = 1000;
constexpr size_t kMaxNote = 512;
constexpr absl::Duration kClockSkew = absl::Minutes(5);
constexpr char kDuplicatePrefix[] = "dup:";

std::string TimeText(const std::optional<absl::Time>& t) {
  return t.has_value() ? absl::StrCat(absl::ToUnixMicros(*t)) : "";
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

bool Printable(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

void CheckRequestId(FieldErrors& errors, const CallContext& ctx) {
  if (absl::Status id = store::ValidateIdempotencyKey(ctx.idempotency_key); !id.ok()) {
    for (auto& v : FieldViolationsOf(id)) errors.Add(v.field, v.description);
  }
}

void CheckText(FieldErrors& errors, absl::string_view field, absl::string_view value, size_t max,
               bool required) {
  if (value.empty()) {
    if (required) errors.Add(std::string(field), "required");
  } else if (value.size() > max) {
    errors.Add(std::string(field), absl::StrCat("at most ", max, " characters"));
  } else if (!Printable(value)) {
    errors.Add(std::string(field), "must not contain control characters");
  }
}

void CheckVerification(FieldErrors& errors, absl::string_view field, const Verification& v) {
  const int m = static_cast<int>(v.method);
  if (m < 1 || m > 4) {
    errors.Add(absl::StrCat(field, ".method"), "required: one of the VERIFICATION_METHOD_ values");
  }
  CheckText(errors, absl::StrCat(field, ".note"), v.note, kMaxNote,
            v.method == VerificationMethod::kOther);
}

const char* MethodName(VerificationMethod m) {
  switch (m) {
    case VerificationMethod::kAuthenticatedSession:
      return "authenticated session";
    case VerificationMethod::kDocumentCheck:
      return "document check";
    case VerificationMethod::kKnownContactChannel:
      return "known contact channel";
    case VerificationMethod::kOther:
      return "other method";
    case VerificationMethod::kUnspecified:
      break;
  }
  return "unspecified";
}

const char* RejectionName(RejectionReason r) {
  switch (r) {
    case RejectionReason::kManifestlyUnfounded:
      return "MANIFESTLY_UNFOUNDED";
    case RejectionReason::kExcessive:
      return "EXCESSIVE";
    case RejectionReason::kIdentityNotVerified:
      return "IDENTITY_NOT_VERIFIED";
    case RejectionReason::kOther:
      return "OTHER";
    case RejectionReason::kUnspecified:
      break;
  }
  return "UNSPECIFIED";
}

absl::Status NotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat(RequestName(id), " not found"));
}

template <typename Txn>
absl::StatusOr<PrivacyRequest> LoadOrNotFound(Txn& txn, absl::string_view tenant,
                                              absl::string_view id) {
  std::optional<PrivacyRequest> r = rows::Load(txn, tenant, id);
  if (!r.has_value()) return NotFound(id);
  return std::move(*r);
}

// The request with systems (live task state from the outbox), export,
// disclosures and history.
template <typename Txn>
absl::StatusOr<PrivacyRequest> LoadFull(Txn& txn, absl::string_view tenant, absl::string_view id) {
  ASSIGN_OR_RETURN(PrivacyRequest r, LoadOrNotFound(txn, tenant, id));
  r.systems = rows::ListTasks(txn, tenant, id);
  for (SystemProgress& t : r.systems) {
    auto live = connector::task_store::Get(txn, tenant, t.task_id);
    if (!live.ok()) continue;
    t.attempts = live->attempts;
    t.state = live->state;
    if (t.last_error.empty()) t.last_error = live->last_error;
  }
  r.export_info = rows::LoadExport(txn, tenant, id);
  r.disclosures = rows::ListDisclosures(txn, tenant, id, 100);
  r.history = rows::ListEvents(txn, tenant, id);
  return r;
}

// Renames the deadline module's field "new_due" to the API's field.
absl::Status RenameDueField(const absl::Status& s, absl::string_view field) {
  if (s.code() != absl::StatusCode::kInvalidArgument) return s;
  std::vector<FieldViolation> violations = FieldViolationsOf(s);
  for (auto& v : violations) {
    if (v.field == "new_due") v.field = std::string(field);
  }
  return InvalidArgumentWithFields(s.message(), violations);
}

std::string EncodePageToken(const PrivacyRequest& last, absl::string_view tag) {
  return store::EncodePageToken({absl::StrCat(absl::ToUnixMicros(last.created_at)), last.id}, tag);
}

std::optional<std::pair<int64_t, std::string>> DecodePageToken(absl::string_view token,
                                                               absl::string_view tag) {
  auto parts = store::DecodePageToken(token, tag, 2);
  int64_t created = 0;
  if (!parts.has_value() || !absl::SimpleAtoi((*parts)[0], &created)) return std::nullopt;
  return std::make_pair(created, (*parts)[1]);
}

// What the caller learns after a mutation commits: nudges for the outbox
// (new tasks), the worker (a step of its own) and the callback sender.
void AfterCommit(RequestEnv* env) {
  if (connector::Outbox* outbox = env->outbox.load()) outbox->Notify();
  env->signal.Wake(/*after_commit=*/false);
  env->signal.WakeCallbacks();
}

// The store's completion for a mutation that loads `result` in its
// transaction: the error, or the nudges and then the loaded request.
store::WriteDone AnswerAfterCommit(RequestEnv* env,
                                   std::shared_ptr<absl::StatusOr<PrivacyRequest>> result,
                                   PrivacyRequests::RequestDone done) {
  return [env, result = std::move(result), done = std::move(done)](absl::Status status) mutable {
    if (!status.ok()) {
      done(status);
      return;
    }
    AfterCommit(env);
    done(std::move(*result));
  };
}

}  // namespace

absl::StatusOr<bool> ExportDownload::Next(std::string* chunk) {
  ASSIGN_OR_RETURN(bool more, reader_->Next(chunk));
  if (!more) {
    // The end: what was sent must be what was recorded when it was built.
    if (bytes_ != info_.size_bytes || sha_.HexDigest() != info_.sha256_hex) {
      return absl::DataLossError("export differs from the digest recorded when it was built");
    }
    return false;
  }
  sha_.Update(*chunk);
  bytes_ += static_cast<int64_t>(chunk->size());
  return true;
}

void PrivacyRequests::Create(const CallContext& ctx, CreateInput in, CreateDone done) {
  const absl::Time now = env_->clock->Now();
  FieldErrors errors;
  CheckRequestId(errors, ctx);
  const int type = static_cast<int>(in.type);
  if (type < 1 || type > 3) errors.Add("type", "required: ACCESS, PORTABILITY or ERASURE");
  NormaliseIdentifiers(in.identifiers, errors);
  const int relation = static_cast<int>(in.requester.relation);
  if (relation < 0 || relation > 4) errors.Add("requester.relation", "unknown relation");
  CheckText(errors, "requester.channel", in.requester.channel, 64, false);
  CheckText(errors, "requester.reference", in.requester.reference, 128, false);
  if (!in.callback_url.empty()) {
    std::string problem = CallbackUrlProblem(env_->options, ctx.tenant, in.callback_url);
    if (!problem.empty()) {
      errors.Add("status_callback_url", problem);
    } else if (env_->options.CallbackSecret(ctx.tenant).empty()) {
      errors.Add("status_callback_url",
                 "status callbacks are not configured on this server (no callback secret)");
    }
  }
  if (in.received_at.has_value() && *in.received_at > now + kClockSkew) {
    errors.Add("receive_time", "must not lie in the future");
  }
  if (in.verification.has_value()) CheckVerification(errors, "verification", *in.verification);
  if (!errors.empty()) {
    done(errors.ToStatus("invalid privacy request"));
    return;
  }
  if (in.requester.relation == RequesterRelation::kUnspecified) {
    in.requester.relation = RequesterRelation::kDataSubject;
  }

  struct Op {
    CallContext ctx;
    CreateInput in;
    std::vector<std::string> keys;
    std::vector<connector::IdentifierType> types;
    std::string new_id;
    std::string sealed;
    std::string wrapped_key;
    std::string fingerprint;
    absl::Time now;
    Created created;
  };
  auto op = std::make_shared<Op>();
  op->ctx = ctx;
  op->keys = SubjectKeys(*env_->keyer, ctx.tenant, in.identifiers);
  for (const auto& id : in.identifiers) op->types.push_back(id.type);
  op->new_id = NewId("pr");
  op->sealed = internal::SealSubject(*env_, op->new_id, in.identifiers);
  if (in.type != RequestType::kErasure) {
    op->wrapped_key = env_->key_wrapper->Wrap(SecretKey::Generate(), op->new_id);
  }
  std::string keys_text;
  for (const auto& k : op->keys) absl::StrAppend(&keys_text, k);
  op->fingerprint = store::FingerprintOf(
      {absl::StrCat(type), keys_text, absl::StrCat(relation), in.requester.channel,
       in.requester.reference, in.callback_url, TimeText(in.received_at),
       in.verification ? absl::StrCat(static_cast<int>(in.verification->method)) : "",
       in.verification ? in.verification->note : ""});
  if (!in.only_systems.empty()) {
    // Only then, so that filings from before only_systems keep their fingerprint.
    op->fingerprint = store::FingerprintOf({op->fingerprint, absl::StrJoin(in.only_systems, ",")});
  }
  for (auto& id : in.identifiers) std::fill(id.value.begin(), id.value.end(), '\0');
  in.identifiers.clear();
  op->in = std::move(in);
  op->now = now;
  RequestEnv* env = env_;
  env_->store->Write(
      [op, env](store::WriteTxn& txn) -> absl::Status {
        const CreateInput& in = op->in;
        const CallContext& ctx = op->ctx;
        ASSIGN_OR_RETURN(
            std::string answer,
            store::RunIdempotent(
                txn, ctx.tenant, ctx.idempotency_key, ctx.method, op->fingerprint, op->now,
                [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
                  const absl::Time now = op->now;
                  if (auto dup = rows::FindOpenDuplicate(t, ctx.tenant, in.type, op->keys)) {
                    ASSIGN_OR_RETURN(PrivacyRequest r, LoadOrNotFound(t, ctx.tenant, *dup));
                    const std::string link_id = NewId("link");
                    rows::InsertLink(t, ctx.tenant, r.id, link_id, in.requester, in.callback_url,
                                     ctx.principal, now);
                    ++r.duplicate_count;
                    r.updated_at = now;
                    rows::InsertEvent(
                        t, ctx.tenant, r.id,
                        {r.state, r.state, ctx.principal,
                         absl::StrCat("duplicate filing linked (", link_id, ")"), now});
                    rows::Save(t, r);
                    if (!in.callback_url.empty() && in.callback_url != r.callback_url) {
                      EnqueueCallbacks(t, ctx.tenant, r.id, {in.callback_url},
                                       internal::CallbackBody(r, now), now);
                    }
                    RETURN_IF_ERROR(audit::Append(t, ctx, r.name(), "OK", now));
                    return absl::StrCat(kDuplicatePrefix, r.id);
                  }
                  PrivacyRequest r;
                  r.tenant = ctx.tenant;
                  r.id = op->new_id;
                  r.type = in.type;
                  r.state = RequestState::kReceived;
                  r.source = in.source;
                  r.requester = in.requester;
                  r.callback_url = in.callback_url;
                  r.creator = ctx.principal;
                  r.received_at = in.received_at.value_or(now);
                  r.created_at = r.updated_at = now;
                  r.identifier_types = op->types;
                  r.only_systems = in.only_systems;
                  RETURN_IF_ERROR(internal::ScheduleClocks(t, *env, r, now));
                  rows::Insert(t, r, op->sealed, op->wrapped_key);
                  rows::InsertSubjectKeys(t, ctx.tenant, r.id, r.type, op->keys);
                  rows::InsertEvent(
                      t, ctx.tenant, r.id,
                      {RequestState::kUnspecified, RequestState::kReceived, ctx.principal,
                       in.source == RequestSource::kRetention
                           ? "filed by the retention rule"
                           : absl::StrCat("filed", in.requester.channel.empty() ? "" : " via ",
                                          in.requester.channel),
                       now});
                  if (!r.callback_url.empty()) {
                    EnqueueCallbacks(t, ctx.tenant, r.id, {r.callback_url},
                                     internal::CallbackBody(r, now), now);
                  }
                  if (in.verification.has_value()) {
                    r.verification = *in.verification;
                    r.verification->verifier = ctx.principal;
                    r.verification->verified_at = now;
                    RETURN_IF_ERROR(
                        internal::Transition(t, *env, r, RequestState::kVerified, ctx.principal,
                                             absl::StrCat("identity verified at filing (",
                                                          MethodName(r.verification->method), ")"),
                                             now));
                    RETURN_IF_ERROR(internal::StartWork(t, *env, r, ctx.principal, now));
                  } else if (env->options.pause_clock_until_verified) {
                    RETURN_IF_ERROR(internal::PauseClocks(t, *env, r, now));
                    rows::Save(t, r);
                  }
                  RETURN_IF_ERROR(audit::Append(t, ctx, r.name(), "OK", now));
                  return r.id;
                }));
        op->created.duplicate = absl::StartsWith(answer, kDuplicatePrefix);
        const std::string id =
            op->created.duplicate ? answer.substr(sizeof(kDuplicatePrefix) - 1) : answer;
        ASSIGN_OR_RETURN(op->created.request, LoadFull(txn, op->ctx.tenant, id));
        return absl::OkStatus();
      },
      [op, env, done = std::move(done)](absl::Status status) mutable {
        sodium_memzero(op->sealed.data(), op->sealed.size());
        if (!status.ok()) {
          done(status);
          return;
        }
        AfterCommit(env);
        done(std::move(op->created));
      });
}

absl::StatusOr<PrivacyRequest> PrivacyRequests::Get(const CallContext& ctx,
                                                    absl::string_view request_id) {
  absl::StatusOr<PrivacyRequest> out = NotFound(request_id);
  RETURN_IF_ERROR(env_->store->Read([&](store::ReadTxn& txn) {
    out = LoadFull(txn, ctx.tenant, request_id);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<RequestPage> PrivacyRequests::List(const CallContext& ctx, const ListInput& in) {
  FieldErrors errors;
  if (in.page_size < 0 || in.page_size > kMaxPageSize) {
    errors.Add("page_size", absl::StrCat("must be between 0 and ", kMaxPageSize));
  }
  const int state = static_cast<int>(in.state);
  const int type = static_cast<int>(in.type);
  if (state < 0 || state > 7) errors.Add("state", "unknown state");
  if (type < 0 || type > 3) errors.Add("type", "unknown type");
  rows::ListFilter f;
  if (in.subject.has_value()) {
    SubjectIdentifier subject = *in.subject;
    if (NormaliseIdentifier(subject, "subject", errors)) {
      f.subject_key = env_->keyer->SubjectKey(ctx.tenant, subject);
    }
    sodium_memzero(subject.value.data(), subject.value.size());
  }
  const std::string tag =
      store::PageFilterTag({ctx.tenant, absl::StrCat(state), absl::StrCat(type),
                            TimeText(in.due_before), f.subject_key.value_or("")});
  f.tenant = ctx.tenant;
  f.state = in.state;
  f.type = in.type;
  f.due_before = in.due_before;
  f.limit = (in.page_size == 0 ? kDefaultPageSize : in.page_size) + 1;
  if (!in.page_token.empty()) {
    f.before = DecodePageToken(in.page_token, tag);
    if (!f.before.has_value()) {
      errors.Add("page_token", "not a token issued for these filters");
    }
  }
  RETURN_IF_ERROR(errors.ToStatus("invalid list request"));
  RequestPage page;
  RETURN_IF_ERROR(env_->store->Read([&](store::ReadTxn& txn) {
    page.requests = rows::List(txn, f);
    return absl::OkStatus();
  }));
  if (static_cast<int>(page.requests.size()) == f.limit) {
    page.requests.pop_back();
    page.next_page_token = EncodePageToken(page.requests.back(), tag);
  }
  return page;
}

void PrivacyRequests::Verify(const CallContext& ctx, std::string request_id, Verification v,
                             RequestDone done) {
  FieldErrors errors;
  CheckRequestId(errors, ctx);
  CheckVerification(errors, "verification", v);
  if (!errors.empty()) {
    done(errors.ToStatus("invalid verification"));
    return;
  }
  auto result = std::make_shared<absl::StatusOr<PrivacyRequest>>(NotFound(request_id));
  const absl::Time now = env_->clock->Now();
  RequestEnv* env = env_;
  const std::string fingerprint =
      store::FingerprintOf({request_id, absl::StrCat(static_cast<int>(v.method)), v.note});
  env_->store->Write(
      [env, ctx, request_id, v, now, fingerprint, result](store::WriteTxn& txn) -> absl::Status {
        ASSIGN_OR_RETURN(
            std::string id,
            store::RunIdempotent(
                txn, ctx.tenant, ctx.idempotency_key, ctx.method, fingerprint, now,
                [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
                  ASSIGN_OR_RETURN(PrivacyRequest r, LoadOrNotFound(t, ctx.tenant, request_id));
                  RETURN_IF_ERROR(CheckTransition(r.name(), r.state, RequestState::kVerified,
                                                  "VerifyIdentity"));
                  r.verification = v;
                  r.verification->verifier = ctx.principal;
                  r.verification->verified_at = now;
                  RETURN_IF_ERROR(internal::ResumeClocks(t, *env, r, now));
                  RETURN_IF_ERROR(internal::Transition(
                      t, *env, r, RequestState::kVerified, ctx.principal,
                      absl::StrCat("identity verified (", MethodName(v.method), ")"), now));
                  RETURN_IF_ERROR(internal::StartWork(t, *env, r, ctx.principal, now));
                  RETURN_IF_ERROR(audit::Append(t, ctx, r.name(), "OK", now));
                  return r.id;
                }));
        *result = LoadFull(txn, ctx.tenant, id);
        return result->status();
      },
      AnswerAfterCommit(env, result, std::move(done)));
}

void PrivacyRequests::Extend(const CallContext& ctx, ExtendInput in, RequestDone done) {
  const absl::Time now = env_->clock->Now();
  FieldErrors errors;
  CheckRequestId(errors, ctx);
  CheckText(errors, "reason", in.reason, kMaxReason, true);
  if (!in.subject_informed_at.has_value()) {
    errors.Add("subject_notify_time", "required: when the person was told of the extension");
  } else if (*in.subject_informed_at > now + kClockSkew) {
    errors.Add("subject_notify_time", "must not lie in the future");
  }
  if (!errors.empty()) {
    done(errors.ToStatus("invalid extension"));
    return;
  }
  auto result = std::make_shared<absl::StatusOr<PrivacyRequest>>(NotFound(in.request_id));
  RequestEnv* env = env_;
  const std::string fingerprint =
      store::FingerprintOf({in.request_id, in.reason, TimeText(in.subject_informed_at),
                            TimeText(in.gdpr_due), TimeText(in.processor_due)});
  env_->store->Write(
      [env, ctx, in, now, fingerprint, result](store::WriteTxn& txn) -> absl::Status {
        ASSIGN_OR_RETURN(
            std::string id,
            store::RunIdempotent(
                txn, ctx.tenant, ctx.idempotency_key, ctx.method, fingerprint, now,
                [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
                  ASSIGN_OR_RETURN(PrivacyRequest r, LoadOrNotFound(t, ctx.tenant, in.request_id));
                  if (!IsOpen(r.state)) {
                    return FailedPreconditionWithViolations(
                        absl::StrCat("request is ", RequestStateName(r.state),
                                     "; ExtendPrivacyRequest is not allowed"),
                        {{"STATE", r.name(),
                          absl::StrCat("ExtendPrivacyRequest needs an open request; it is ",
                                       RequestStateName(r.state))}});
                  }
                  absl::Time gdpr_due;
                  if (in.gdpr_due.has_value()) {
                    gdpr_due = *in.gdpr_due;
                  } else {
                    deadline::Deadline shape;
                    shape.kind = deadline::kRequestGdpr;
                    shape.started_at = r.received_at;
                    shape.paused_total = r.paused_total;
                    ASSIGN_OR_RETURN(gdpr_due, env->deadlines->ExtensionLimit(shape));
                  }
                  auto gdpr = env->deadlines->Extend(
                      t, {r.tenant, deadline::kRequestGdpr, r.name()}, gdpr_due, in.reason, now);
                  if (!gdpr.ok()) return RenameDueField(gdpr.status(), "gdpr_due_time");
                  r.gdpr_due_at = gdpr->due_at;
                  if (in.processor_due.has_value()) {
                    auto processor =
                        env->deadlines->Extend(t, {r.tenant, deadline::kRequestProcessor, r.name()},
                                               *in.processor_due, in.reason, now);
                    if (!processor.ok()) {
                      return RenameDueField(processor.status(), "processor_due_time");
                    }
                    r.processor_due_at = processor->due_at;
                  }
                  ++r.extension_count;
                  r.extension_reason = in.reason;
                  r.subject_informed_at = in.subject_informed_at;
                  r.updated_at = now;
                  rows::InsertEvent(t, r.tenant, r.id,
                                    {r.state, r.state, ctx.principal,
                                     absl::StrCat("deadline extended to ", Rfc3339(r.gdpr_due_at),
                                                  ": ", in.reason),
                                     now});
                  rows::Save(t, r);
                  const auto urls = rows::CallbackUrls(t, r.tenant, r.id, r.callback_url);
                  if (!urls.empty()) {
                    EnqueueCallbacks(t, r.tenant, r.id, urls, internal::CallbackBody(r, now), now);
                  }
                  RETURN_IF_ERROR(audit::Append(t, ctx, r.name(), "OK", now));
                  return r.id;
                }));
        *result = LoadFull(txn, ctx.tenant, id);
        return result->status();
      },
      AnswerAfterCommit(env, result, std::move(done)));
}

void PrivacyRequests::Reject(const CallContext& ctx, std::string request_id, RejectionReason reason,
                             std::string detail, RequestDone done) {
  FieldErrors errors;
  CheckRequestId(errors, ctx);
  const int why = static_cast<int>(reason);
  if (why < 1 || why > 4) errors.Add("reason", "required: one of the REJECTION_REASON_ values");
  CheckText(errors, "detail", detail, kMaxReason, true);
  if (!errors.empty()) {
    done(errors.ToStatus("invalid rejection"));
    return;
  }
  auto result = std::make_shared<absl::StatusOr<PrivacyRequest>>(NotFound(request_id));
  const absl::Time now = env_->clock->Now();
  RequestEnv* env = env_;
  const std::string fingerprint = store::FingerprintOf({request_id, absl::StrCat(why), detail});
  env_->store->Write(
      [env, ctx, request_id, reason, detail, now, fingerprint,
       result](store::WriteTxn& txn) -> absl::Status {
        ASSIGN_OR_RETURN(
            std::string id,
            store::RunIdempotent(
                txn, ctx.tenant, ctx.idempotency_key, ctx.method, fingerprint, now,
                [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
                  ASSIGN_OR_RETURN(PrivacyRequest r, LoadOrNotFound(t, ctx.tenant, request_id));
                  RETURN_IF_ERROR(CheckTransition(r.name(), r.state, RequestState::kRejected,
                                                  "RejectPrivacyRequest"));
                  r.rejection_reason = reason;
                  r.rejection_detail = detail;
                  // The refusal is the answer the deadlines ask for.
                  RETURN_IF_ERROR(internal::CloseClocks(t, *env, r, /*complete=*/true, now));
                  rows::DestroySealedSubject(t, r.tenant, r.id);
                  rows::DestroyWrappedKey(t, r.tenant, r.id);
                  RETURN_IF_ERROR(
                      internal::Transition(t, *env, r, RequestState::kRejected, ctx.principal,
                                           absl::StrCat("rejected: ", RejectionName(reason)), now));
                  RETURN_IF_ERROR(audit::Append(t, ctx, r.name(), "OK", now));
                  return r.id;
                }));
        *result = LoadFull(txn, ctx.tenant, id);
        return result->status();
      },
      AnswerAfterCommit(env, result, std::move(done)));
}

void PrivacyRequests::Cancel(const CallContext& ctx, std::string request_id, std::string reason,
                             RequestDone done) {
  FieldErrors errors;
  CheckRequestId(errors, ctx);
  CheckText(errors, "reason", reason, kMaxReason, true);
  if (!errors.empty()) {
    done(errors.ToStatus("invalid cancellation"));
    return;
  }
  auto result = std::make_shared<absl::StatusOr<PrivacyRequest>>(NotFound(request_id));
  const absl::Time now = env_->clock->Now();
  RequestEnv* env = env_;
  const std::string fingerprint = store::FingerprintOf({request_id, reason});
  env_->store->Write(
      [env, ctx, request_id, reason, now, fingerprint,
       result](store::WriteTxn& txn) -> absl::Status {
        ASSIGN_OR_RETURN(
            std::string id,
            store::RunIdempotent(
                txn, ctx.tenant, ctx.idempotency_key, ctx.method, fingerprint, now,
                [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
                  ASSIGN_OR_RETURN(PrivacyRequest r, LoadOrNotFound(t, ctx.tenant, request_id));
                  if (r.type == RequestType::kErasure && r.state == RequestState::kInProgress) {
                    return FailedPreconditionWithViolations(
                        "an erasure cannot be cancelled once its tasks were sent",
                        {{"ERASURE_STARTED", r.name(),
                          "erasure tasks were sent to the connectors; what they erased cannot "
                          "be restored"}});
                  }
                  RETURN_IF_ERROR(CheckTransition(r.name(), r.state, RequestState::kCancelled,
                                                  "CancelPrivacyRequest"));
                  r.cancel_reason = reason;
                  RETURN_IF_ERROR(internal::CloseClocks(t, *env, r, /*complete=*/false, now));
                  rows::DestroySealedSubject(t, r.tenant, r.id);
                  rows::DestroyWrappedKey(t, r.tenant, r.id);
                  RETURN_IF_ERROR(internal::Transition(t, *env, r, RequestState::kCancelled,
                                                       ctx.principal, "cancelled", now));
                  RETURN_IF_ERROR(audit::Append(t, ctx, r.name(), "OK", now));
                  return r.id;
                }));
        *result = LoadFull(txn, ctx.tenant, id);
        return result->status();
      },
      [env, ctx, request_id, result, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok()) {
          done(status);
          return;
        }
        env->cleanup.Add(ctx.tenant, request_id);
        AfterCommit(env);
        done(std::move(*result));
      });
}

void PrivacyRequests::Download(const CallContext& ctx, DownloadInput in, DownloadDone done) {
  FieldErrors errors;
  const int recipient = static_cast<int>(in.recipient);
  if (recipient < 1 || recipient > 3) {
    errors.Add("recipient", "required: to whom the export is handed (DISCLOSURE_RECIPIENT_...)");
  }
  CheckText(errors, "recipient_name", in.recipient_name, 256,
            in.recipient == DisclosureRecipient::kOtherController);
  if (!errors.empty()) {
    done(errors.ToStatus("invalid download"));
    return;
  }
  const absl::Time now = env_->clock->Now();
  absl::StatusOr<PrivacyRequest> request = NotFound(in.request_id);
  std::optional<ExportInfo> info;
  std::optional<std::string> wrapped;
  absl::Status read = env_->store->Read([&](store::ReadTxn& txn) {
    request = LoadOrNotFound(txn, ctx.tenant, in.request_id);
    if (request.ok()) {
      info = rows::LoadExport(txn, ctx.tenant, in.request_id);
      wrapped = rows::LoadWrappedKey(txn, ctx.tenant, in.request_id);
    }
    return absl::OkStatus();
  });
  if (!read.ok()) {
    done(read);
    return;
  }
  if (!request.ok()) {
    done(request.status());
    return;
  }
  const PrivacyRequest& r = *request;
  if (r.type == RequestType::kErasure) {
    done(FailedPreconditionWithViolations("an erasure has no export",
                                          {{"TYPE", r.name(),
                                            "only ACCESS and PORTABILITY requests "
                                            "have an export bundle"}}));
    return;
  }
  if (r.state != RequestState::kCompleted) {
    done(FailedPreconditionWithViolations(
        absl::StrCat("request is ", RequestStateName(r.state), "; its export is not ready"),
        {{"STATE", r.name(),
          absl::StrCat("DownloadExport needs a COMPLETED request; it is ",
                       RequestStateName(r.state))}}));
    return;
  }
  const ExportFiles files(env_->options.export_dir);
  if (!info.has_value() || !info->available || !wrapped.has_value() || now >= info->expires_at) {
    if (info.has_value() && info->available) {
      // Expired but not yet swept: destroy it now, then answer.
      const std::string tenant = ctx.tenant, id = in.request_id;
      env_->store->Write(
          [tenant, id, now](store::WriteTxn& txn) {
            rows::MarkExportExpired(txn, tenant, id, now);
            rows::DestroyWrappedKey(txn, tenant, id);
            return audit::Append(txn, internal::SystemContext(tenant, "ExpireExport"),
                                 absl::StrCat(RequestName(id), "/export"), "OK", now);
          },
          [files, tenant, id, done = std::move(done)](absl::Status s) mutable {
            if (s.ok()) {
              files.RemoveRequest(tenant, id);
              log::Info("privacy_request_export_expired", {{"request_id", id}, {"tenant", tenant}});
            }
            done(absl::NotFoundError(
                absl::StrCat(RequestName(id), ": the export expired and was destroyed")));
          });
      return;
    }
    if (info.has_value() && info->erased) {
      done(absl::NotFoundError(
          absl::StrCat(r.name(),
                       ": the export was destroyed because the person was erased (a later erasure "
                       "request of the same person)")));
      return;
    }
    done(absl::NotFoundError(absl::StrCat(r.name(), ": the export expired and was destroyed")));
    return;
  }
  auto key = env_->key_wrapper->Unwrap(*wrapped, r.id);
  if (!key.ok()) {
    done(key.status());
    return;
  }
  auto reader = EncryptedReader::Open(files.BundlePath(r.tenant, r.id), *key);
  if (!reader.ok()) {
    done(reader.status().code() == absl::StatusCode::kNotFound
             ? absl::DataLossError(absl::StrCat(r.name(), ": the export file is missing"))
             : reader.status());
    return;
  }
  Disclosure d;
  d.disclosure_id = NewId("dis");
  d.what = absl::StrCat("export bundle of ", r.name(), " (", RequestTypeName(r.type), ", ",
                        info->records, " records, ", info->size_bytes, " bytes, sha256 ",
                        info->sha256_hex, ")");
  d.recipient = in.recipient;
  d.recipient_name = in.recipient_name;
  d.principal = ctx.principal;
  d.disclosed_at = now;
  auto download = std::make_shared<std::unique_ptr<ExportDownload>>(
      std::make_unique<ExportDownload>(std::move(*reader), *info, d.disclosure_id));
  env_->store->Write(
      [ctx, d, id = r.id](store::WriteTxn& txn) {
        rows::InsertDisclosure(txn, ctx.tenant, id, d);
        return audit::Append(txn, ctx, absl::StrCat(RequestName(id), "/export"), "OK",
                             d.disclosed_at);
      },
      [download, done = std::move(done)](absl::Status s) mutable {
        if (!s.ok()) {
          done(s);
          return;
        }
        done(std::move(*download));
      });
}

}  // namespace dsar::privacy_requests
