#include "lib/consent/consent_ledger.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/audit/audit_log.h"
#include "lib/consent/consent_rows.h"
#include "lib/consent/consent_state_index.h"
#include "lib/consent/language_tag.h"
#include "lib/consent/purpose_catalog.h"
#include "lib/consent/receipt_name.h"
#include "lib/consent/subject_keyer.h"
#include "lib/core/errors.h"
#include "lib/core/ids.h"
#include "lib/core/status_macros.h"
#include "lib/store/idempotency.h"
#include "lib/store/page_token.h"

namespace dsar::consent {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr size_t kMaxChannelLength = 64;
constexpr size_t kMaxReasonLength = 512;

// Overwrites an identifier's value once only its key is needed.
void WipeValue(SubjectIdentifier& id) {
  std::fill(id.value.begin(), id.value.end(), '\0');
  id.value.clear();
}

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

std::string ResourceName(absl::string_view receipt_id) { return ReceiptName(receipt_id); }

// Normalises the subject for its type (NormaliseIdentifier), violations
// named "subject.type" / "subject.value".
void CheckSubject(FieldErrors& errors, SubjectIdentifier& subject) {
  NormaliseIdentifier(subject, "subject", errors);
}

void CheckChannel(FieldErrors& errors, absl::string_view channel) {
  if (channel.empty()) {
    errors.Add("channel", "required, e.g. \"web-booking\"");
  } else if (channel.size() > kMaxChannelLength) {
    errors.Add("channel", absl::StrCat("at most ", kMaxChannelLength, " characters"));
  }
}

// Checks tenant and purpose; adds a field violation when the purpose is unknown.
const Purpose* CheckPurpose(FieldErrors& errors, const PurposeCatalog& catalog,
                            absl::string_view tenant, absl::string_view purpose) {
  if (purpose.empty()) {
    errors.Add("purpose", "required");
    return nullptr;
  }
  const Purpose* p = catalog.FindPurpose(tenant, purpose);
  if (p == nullptr) errors.Add("purpose", "not a purpose configured for this tenant");
  return p;
}

// The receipt of a consent just given by event `e`.
ConsentReceipt GivenReceipt(const std::string& tenant, const std::string& subject_key,
                            const ConsentEvent& e) {
  ConsentReceipt r;
  r.receipt_id = e.receipt_id;
  r.tenant = tenant;
  r.subject_pseudonym = PseudonymFromKey(subject_key);
  r.purpose = e.purpose;
  r.notice_version = e.notice_version;
  r.language = e.language;
  r.lawful_basis = e.lawful_basis;
  r.channel = e.channel;
  r.actor = e.actor;
  r.given_at = e.occurred_at;
  r.recorded_at = e.recorded_at;
  return r;
}

// `found`'s request against a new one: the same only when both record (or
// both withdraw) with the same content.
absl::Status CheckSameRecordedRequest(const rows::RecordedRequest& found, ConsentAction action,
                                      const CallContext& ctx, absl::string_view fingerprint) {
  return store::CheckSameCall(found.action == action ? ctx.method : absl::string_view("other"),
                              found.fingerprint, ctx.method, fingerprint);
}

// A new current state (for the in-memory index); the views outlive PublishStates.
struct StateChange {
  const std::string* tenant;
  const std::string* subject_key;
  const std::string* purpose;
  ConsentState state;
  const std::string* receipt_id;
  const std::string* notice_version;
  absl::Time changed_at;
  int64_t seq;  // of the event that set it
};

// Hands the states that the transaction's new events set to `index` (may be
// null) once the write commits; changes of one (tenant, subject, purpose)
// apply in order, the last wins, as the events' seq order does.
void PublishStates(store::WriteTxn& txn, ConsentStateIndex* index,
                   const std::vector<StateChange>& changes) {
  if (index == nullptr) return;
  struct Put {
    std::string tenant, subject_key, purpose;
    ConsentStateIndex::Row row;
  };
  std::vector<Put> puts(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    const StateChange& c = changes[i];
    Put& put = puts[i];
    put.tenant = *c.tenant;
    put.subject_key = *c.subject_key;
    put.purpose = *c.purpose;
    put.row.state = c.state;
    put.row.receipt_id = *c.receipt_id;
    put.row.notice_version = *c.notice_version;
    put.row.changed_at = FromMicros(Micros(c.changed_at));  // as stored
    put.row.seq = c.seq;
  }
  txn.AfterCommit([index, puts = std::move(puts)] {
    for (const Put& put : puts) index->Put(put.tenant, put.subject_key, put.purpose, put.row);
  });
}

// Check's answer from the latest event (without an index, or when it is off).
absl::Status ReadState(store::Store& store, const std::string& tenant,
                       const std::string& subject_key, const std::string& purpose,
                       ConsentCheck* check) {
  return store.Read([&](store::ReadTxn& txn) {
    rows::LatestEvent latest = rows::ReadLatest(txn, tenant, subject_key, purpose);
    check->state = latest.state;
    check->receipt_id = std::move(latest.receipt_id);
    check->notice_version = std::move(latest.notice_version);
    check->changed_at = latest.changed_at;
    return absl::OkStatus();
  });
}

// Page tokens: base64url("<seq>:<filter fingerprint hex prefix>"). The filter
// fingerprint binds a token to the subject and purpose it was issued for.
std::string FilterTag(absl::string_view subject_key, absl::string_view purpose) {
  return store::PageFilterTag({subject_key, purpose});
}

absl::StatusOr<int64_t> DecodePageToken(absl::string_view token, absl::string_view tag) {
  std::optional<int64_t> seq = store::DecodeSeqPageToken(token, tag);
  if (!seq.has_value()) {
    return InvalidField("page_token", "not a token issued for this subject and purpose");
  }
  return *seq;
}

}  // namespace

const char* LawfulBasisName(LawfulBasis basis) {
  switch (basis) {
    case LawfulBasis::kConsent:
      return "consent";
    case LawfulBasis::kExplicitConsent:
      return "explicit_consent";
    case LawfulBasis::kContract:
      return "contract";
    case LawfulBasis::kLegalObligation:
      return "legal_obligation";
    case LawfulBasis::kVitalInterests:
      return "vital_interests";
    case LawfulBasis::kPublicTask:
      return "public_task";
    case LawfulBasis::kLegitimateInterests:
      return "legitimate_interests";
    case LawfulBasis::kUnspecified:
      break;
  }
  return "unspecified";
}

ConsentLedger::ConsentLedger(store::Store* store, Clock* clock, const SubjectKeyer* keyer,
                             const PurposeCatalog* catalog, ConsentFollowUp* follow_up,
                             ConsentStateIndex* index)
    : store_(store),
      clock_(clock),
      keyer_(keyer),
      catalog_(catalog),
      follow_up_(follow_up),
      index_(index),
      batcher_(
          store,
          [this](store::WriteTxn& txn, RecordBatch& batch) { return WriteRecords(txn, batch); },
          [this](absl::Status status, RecordBatch& batch) {
            AnswerRecords(std::move(status), batch);
          }) {}

absl::Status ConsentLedger::ValidateRecord(const CallContext& ctx, RecordConsentInput& in,
                                           absl::Time now) const {
  FieldErrors errors;
  if (absl::Status id = store::ValidateIdempotencyKey(ctx.idempotency_key); !id.ok()) {
    for (auto& v : FieldViolationsOf(id)) errors.Add(v.field, v.description);
  }
  CheckSubject(errors, in.subject);
  const Purpose* purpose = CheckPurpose(errors, *catalog_, ctx.tenant, in.purpose);
  bool outdated_notice = false;
  if (in.notice_version.empty()) {
    errors.Add("notice_version", "required");
  } else if (purpose != nullptr && in.notice_version != purpose->current_notice_version) {
    bool known = false;
    for (const auto& v : purpose->previous_notice_versions) known |= (v == in.notice_version);
    if (known) {
      outdated_notice = true;
    } else {
      errors.Add("notice_version", "not a notice version of this purpose");
    }
  }
  if (in.language.empty()) {
    errors.Add("language", "required (BCP 47 tag, e.g. \"sv-SE\")");
  } else if (!IsWellFormedLanguageTag(in.language)) {
    errors.Add("language", "not a well-formed BCP 47 language tag");
  }
  if (in.lawful_basis == LawfulBasis::kUnspecified || static_cast<int>(in.lawful_basis) < 0 ||
      static_cast<int>(in.lawful_basis) > static_cast<int>(LawfulBasis::kLegitimateInterests)) {
    errors.Add("lawful_basis", "required: one of the LAWFUL_BASIS_ values");
  }
  CheckChannel(errors, in.channel);
  if (in.given_at.has_value() && *in.given_at > now + absl::Minutes(5)) {
    errors.Add("give_time", "may not lie in the future");
  }
  RETURN_IF_ERROR(errors.ToStatus("invalid consent"));
  if (outdated_notice) {
    return FailedPreconditionWithViolations(
        "notice version is outdated",
        {{"NOTICE_VERSION", absl::StrCat("purposes/", in.purpose),
          absl::StrCat("consent must be given against the current notice version ",
                       purpose->current_notice_version)}});
  }
  return absl::OkStatus();
}

struct ConsentLedger::PendingRecord {
  CallContext ctx;
  // The subject's value is kept only while a follow-up needs it (wiped once
  // the batch is written).
  RecordConsentInput input;
  std::string subject_key;
  absl::Time now;
  std::string fingerprint;
  std::string receipt_id;  // used when the request is new
  std::string event_id;
  ReceiptDone done;
  absl::Status status;  // this record's outcome within its batch
  ConsentReceipt receipt;
  bool fresh = false;  // written by this batch (not a replay)
};

void ConsentLedger::Record(const CallContext& ctx, RecordConsentInput input, ReceiptDone done) {
  const absl::Time now = clock_->Now();
  if (absl::Status valid = ValidateRecord(ctx, input, now); !valid.ok()) {
    done(valid);
    return;
  }
  // Everything that does not need the transaction is done here, on the
  // caller's thread, not on the store's single writer thread.
  auto op = std::make_shared<PendingRecord>();
  op->ctx = ctx;
  op->subject_key = keyer_->SubjectKey(ctx.tenant, input.subject);
  op->input = std::move(input);
  if (follow_up_ == nullptr) WipeValue(op->input.subject);  // not needed past this point
  op->now = now;
  const RecordConsentInput& in = op->input;
  op->fingerprint = store::FingerprintOf({op->subject_key, in.purpose, in.notice_version,
                                          in.language, LawfulBasisName(in.lawful_basis), in.channel,
                                          in.given_at ? absl::StrCat(Micros(*in.given_at)) : ""});
  op->receipt_id = NewTimeOrderedId("rcpt", now);
  op->event_id = NewTimeOrderedId("cev", now);
  op->done = std::move(done);
  batcher_.Add(std::move(op));
}

void ConsentLedger::AnswerRecords(absl::Status status, RecordBatch& batch) {
  bool changed = false;
  for (auto& op : batch) {
    WipeValue(op->input.subject);
    changed |= status.ok() && op->status.ok() && op->fresh;
  }
  if (changed && follow_up_ != nullptr) follow_up_->Committed();
  for (auto& op : batch) {
    absl::Status s = status.ok() ? op->status : status;
    if (s.ok()) {
      op->done(std::move(op->receipt));
    } else {
      op->done(std::move(s));
    }
  }
}

absl::Status ConsentLedger::WriteRecords(store::WriteTxn& txn, RecordBatch& batch) {
  std::vector<PendingRecord*> fresh;  // new requests, in arrival order
  fresh.reserve(batch.size());
  // An idempotency key seen earlier in this batch (for the same subject) answers
  // like a retry of it.
  absl::flat_hash_map<std::tuple<absl::string_view, absl::string_view, absl::string_view>,
                      PendingRecord*>
      first_by_key;
  std::vector<std::pair<PendingRecord*, PendingRecord*>> repeats;  // (repeat, first)
  for (auto& shared_op : batch) {
    PendingRecord* op = shared_op.get();
    auto [it, inserted] = first_by_key.try_emplace(
        {op->ctx.tenant, op->subject_key, op->ctx.idempotency_key.value()}, op);
    if (!inserted) {
      const PendingRecord* first = it->second;
      op->status = store::CheckSameCall(first->ctx.method, first->fingerprint, op->ctx.method,
                                        op->fingerprint);
      if (op->status.ok()) repeats.emplace_back(op, it->second);
      continue;
    }
    // A retry: the event its first attempt wrote, among the subject's
    // events. A subject the state index has never seen has no events to look
    // among (most records are a subject's first): skip that B-tree probe.
    const bool subject_has_events =
        index_ == nullptr || !index_->HasNoStateOf(op->ctx.tenant, op->subject_key);
    std::optional<rows::RecordedRequest> recorded;
    if (subject_has_events) {
      recorded = rows::FindRequest(txn, op->ctx.tenant, op->subject_key, op->ctx.idempotency_key);
    }
    if (!recorded.has_value()) {
      fresh.push_back(op);
      continue;
    }
    op->status =
        CheckSameRecordedRequest(*recorded, ConsentAction::kGiven, op->ctx, op->fingerprint);
    const std::string replay_receipt_id = std::move(recorded->receipt_id);
    if (!op->status.ok()) continue;
    absl::StatusOr<ConsentReceipt> replay =
        rows::LoadReceipt(txn, op->ctx.tenant, replay_receipt_id);
    if (replay.ok()) {
      op->receipt = std::move(*replay);
    } else {
      op->status = replay.status();
    }
  }

  if (!fresh.empty()) {
    std::vector<ConsentEvent> events(fresh.size());
    std::vector<rows::EventRow> event_rows(fresh.size());
    std::vector<StateChange> states(fresh.size());
    absl::Time latest = fresh.front()->now;
    std::vector<audit::PendingEvent> audit_events(fresh.size());
    const int64_t first_seq = rows::NextEventSeq(txn);
    for (size_t i = 0; i < fresh.size(); ++i) {
      PendingRecord& op = *fresh[i];
      const RecordConsentInput& in = op.input;
      ConsentEvent& e = events[i];
      e.seq = first_seq + static_cast<int64_t>(i);
      e.event_id = op.event_id;
      e.receipt_id = op.receipt_id;
      e.purpose = in.purpose;
      e.action = ConsentAction::kGiven;
      e.notice_version = in.notice_version;
      e.language = in.language;
      e.lawful_basis = in.lawful_basis;
      e.channel = in.channel;
      e.actor = op.ctx.principal;
      e.occurred_at = in.given_at.value_or(op.now);
      e.recorded_at = op.now;
      event_rows[i] = rows::EventRow{&op.ctx.tenant, &op.subject_key, &e, &op.ctx.idempotency_key,
                                     &op.fingerprint};
      states[i] =
          StateChange{&op.ctx.tenant, &op.subject_key,    &in.purpose, ConsentState::kGranted,
                      &op.receipt_id, &in.notice_version, op.now,      e.seq};
      audit_events[i] = audit::PendingEvent{&op.ctx, ResourceName(op.receipt_id), "OK"};
      latest = std::max(latest, op.now);
    }
    // The events are the answers to their requests' retries: no idempotency
    // key of their own.
    rows::InsertEvents(txn, event_rows);
    PublishStates(txn, index_, states);
    // One time for the batch's audit events: the chain's times stay in order.
    RETURN_IF_ERROR(audit::AppendBatch(txn, audit_events, latest));
    for (size_t i = 0; i < fresh.size(); ++i) {
      PendingRecord& op = *fresh[i];
      op.receipt = GivenReceipt(op.ctx.tenant, op.subject_key, events[i]);
      op.fresh = true;
      // Grants propagate too (with their give time: connectors keep the
      // latest change).
      if (follow_up_ != nullptr) {
        RETURN_IF_ERROR(follow_up_->OnChanged(txn, op.ctx, op.receipt, ConsentAction::kGiven,
                                              op.input.subject, events[i].occurred_at, op.now));
      }
    }
  }
  for (auto& [repeat, first] : repeats) {
    repeat->status = first->status;
    repeat->receipt = first->receipt;
  }
  return absl::OkStatus();
}

void ConsentLedger::Withdraw(const CallContext& ctx, WithdrawConsentInput input, ReceiptDone done) {
  FieldErrors errors;
  if (absl::Status id = store::ValidateIdempotencyKey(ctx.idempotency_key); !id.ok()) {
    for (auto& v : FieldViolationsOf(id)) errors.Add(v.field, v.description);
  }
  CheckSubject(errors, input.subject);
  CheckPurpose(errors, *catalog_, ctx.tenant, input.purpose);
  CheckChannel(errors, input.channel);
  if (input.reason.size() > kMaxReasonLength) {
    errors.Add("reason", absl::StrCat("at most ", kMaxReasonLength, " characters"));
  }
  if (!errors.empty()) {
    done(errors.ToStatus("invalid withdrawal"));
    return;
  }
  struct Op {
    CallContext ctx;
    WithdrawConsentInput input;
    std::string subject_key;
    absl::Time now;
    ConsentReceipt receipt;
  };
  auto op = std::make_shared<Op>();
  op->ctx = ctx;
  op->subject_key = keyer_->SubjectKey(ctx.tenant, input.subject);
  op->input = std::move(input);
  op->now = clock_->Now();
  ConsentFollowUp* follow_up = follow_up_;
  store_->Write(
      [op, follow_up, index = index_](store::WriteTxn& txn) -> absl::Status {
        const WithdrawConsentInput& in = op->input;
        const std::string& tenant = op->ctx.tenant;
        const std::string fingerprint =
            store::FingerprintOf({op->subject_key, in.purpose, in.channel, in.reason});
        // A retry finds the withdrawal event its first attempt wrote; an id
        // that recorded this subject's consent is not a withdrawal's.
        if (std::optional<rows::RecordedRequest> recorded =
                rows::FindRequest(txn, tenant, op->subject_key, op->ctx.idempotency_key)) {
          RETURN_IF_ERROR(
              CheckSameRecordedRequest(*recorded, ConsentAction::kWithdrawn, op->ctx, fingerprint));
          ASSIGN_OR_RETURN(op->receipt, rows::LoadReceipt(txn, tenant, recorded->receipt_id));
          return absl::OkStatus();
        }
        rows::LatestEvent current = rows::ReadLatest(txn, tenant, op->subject_key, in.purpose);
        if (current.state == ConsentState::kNone) {
          return absl::NotFoundError("no consent recorded for this subject and purpose");
        }
        ASSIGN_OR_RETURN(ConsentReceipt given, rows::LoadReceipt(txn, tenant, current.receipt_id));
        if (current.state == ConsentState::kWithdrawn) {  // a no-op: nothing is written
          op->receipt = std::move(given);
          return absl::OkStatus();
        }
        ConsentEvent e;
        e.seq = rows::NextEventSeq(txn);
        e.event_id = NewTimeOrderedId("cev", op->now);
        e.receipt_id = current.receipt_id;
        e.purpose = in.purpose;
        e.action = ConsentAction::kWithdrawn;
        e.notice_version = current.notice_version;
        e.language = given.language;
        e.lawful_basis = given.lawful_basis;
        e.channel = in.channel;
        e.actor = op->ctx.principal;
        e.reason = in.reason;
        e.occurred_at = op->now;
        e.recorded_at = op->now;
        rows::InsertEvents(txn, {rows::EventRow{&tenant, &op->subject_key, &e,
                                                &op->ctx.idempotency_key, &fingerprint}});
        PublishStates(txn, index,
                      {StateChange{&tenant, &op->subject_key, &in.purpose, ConsentState::kWithdrawn,
                                   &current.receipt_id, &current.notice_version, op->now, e.seq}});
        given.withdrawn_at = op->now;
        given.withdrawal_channel = in.channel;
        if (follow_up != nullptr) {
          RETURN_IF_ERROR(follow_up->OnChanged(txn, op->ctx, given, ConsentAction::kWithdrawn,
                                               in.subject, op->now, op->now));
        }
        RETURN_IF_ERROR(
            audit::Append(txn, op->ctx, ResourceName(current.receipt_id), "OK", op->now));
        ASSIGN_OR_RETURN(op->receipt, rows::LoadReceipt(txn, tenant, current.receipt_id));
        return absl::OkStatus();
      },
      [op, follow_up, done = std::move(done)](absl::Status status) mutable {
        WipeValue(op->input.subject);
        if (!status.ok()) {
          done(status);
          return;
        }
        if (follow_up != nullptr) follow_up->Committed();
        done(std::move(op->receipt));
      });
}

absl::StatusOr<ConsentCheck> ConsentLedger::Check(const CallContext& ctx, SubjectIdentifier subject,
                                                  absl::string_view purpose) {
  FieldErrors errors;
  CheckSubject(errors, subject);
  const Purpose* p = CheckPurpose(errors, *catalog_, ctx.tenant, purpose);
  RETURN_IF_ERROR(errors.ToStatus("invalid consent check"));
  const std::string subject_key = keyer_->SubjectKey(ctx.tenant, subject);
  ConsentCheck check;
  check.current_notice_version = p->current_notice_version;
  ConsentStateIndex::Row row;
  const ConsentStateIndex::Lookup found = index_ != nullptr
                                              ? index_->Find(ctx.tenant, subject_key, purpose, &row)
                                              : ConsentStateIndex::Lookup::kDisabled;
  if (found == ConsentStateIndex::Lookup::kFound) {
    check.state = row.state;
    check.receipt_id = std::move(row.receipt_id);
    check.notice_version = std::move(row.notice_version);
    check.changed_at = row.changed_at;
  }
  if (found == ConsentStateIndex::Lookup::kDisabled) {
    RETURN_IF_ERROR(ReadState(*store_, ctx.tenant, subject_key, std::string(purpose), &check));
  }
  check.reconsent_required =
      check.state == ConsentState::kGranted && check.notice_version != check.current_notice_version;
  return check;
}

void ConsentLedger::ListEvents(const CallContext& ctx, ListEventsInput input, PageDone done) {
  FieldErrors errors;
  CheckSubject(errors, input.subject);
  if (!input.purpose.empty()) CheckPurpose(errors, *catalog_, ctx.tenant, input.purpose);
  if (input.page_size < 0 || input.page_size > kMaxPageSize) {
    errors.Add("page_size", absl::StrCat("must be between 0 and ", kMaxPageSize));
  }
  const std::string subject_key = keyer_->SubjectKey(ctx.tenant, input.subject);
  WipeValue(input.subject);
  const std::string tag = FilterTag(subject_key, input.purpose);
  int64_t before_seq = INT64_MAX;
  if (!input.page_token.empty()) {
    auto seq = DecodePageToken(input.page_token, tag);
    if (!seq.ok()) {
      errors.Add("page_token", "not a token issued for this subject and purpose");
    } else {
      before_seq = *seq;
    }
  }
  if (!errors.empty()) {
    done(errors.ToStatus("invalid list request"));
    return;
  }
  const int page_size = input.page_size == 0 ? kDefaultPageSize : input.page_size;
  auto page = std::make_shared<EventPage>();
  absl::Status read = store_->Read([&](store::ReadTxn& txn) {
    page->events =
        rows::SubjectEvents(txn, ctx.tenant, subject_key, input.purpose, before_seq, page_size + 1);
    return absl::OkStatus();
  });
  if (read.ok() && static_cast<int>(page->events.size()) > page_size) {
    page->events.resize(static_cast<size_t>(page_size));
    page->next_page_token = store::EncodePageToken({absl::StrCat(page->events.back().seq)}, tag);
  }
  if (!read.ok()) {
    done(read);
    return;
  }
  // A read of personal data: audited (durably) before the answer goes out.
  CallContext audit_ctx = ctx;
  const absl::Time now = clock_->Now();
  std::string resource =
      absl::StrCat("consent-subjects/", PseudonymFromKey(subject_key), "/events");
  store_->Write(
      [audit_ctx, resource, now](store::WriteTxn& txn) {
        return audit::Append(txn, audit_ctx, resource, "OK", now);
      },
      [page, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok()) {
          done(status);
        } else {
          done(std::move(*page));
        }
      });
}

void ConsentLedger::GetReceipt(const CallContext& ctx, std::string receipt_id, ReceiptDone done) {
  if (receipt_id.empty() || receipt_id.size() > 64) {
    done(InvalidField("receipt_id", "required, at most 64 characters"));
    return;
  }
  absl::StatusOr<ConsentReceipt> receipt;
  absl::Status read = store_->Read([&](store::ReadTxn& txn) {
    receipt = rows::LoadReceipt(txn, ctx.tenant, receipt_id);
    if (receipt.ok() && follow_up_ != nullptr) {
      return follow_up_->ReadPropagation(txn, &*receipt);
    }
    return absl::OkStatus();
  });
  if (!read.ok()) {
    done(read);
    return;
  }
  if (!receipt.ok()) {
    done(receipt.status());
    return;
  }
  CallContext audit_ctx = ctx;
  const absl::Time now = clock_->Now();
  auto result = std::make_shared<ConsentReceipt>(std::move(*receipt));
  store_->Write(
      [audit_ctx, resource = ResourceName(receipt_id), now](store::WriteTxn& txn) {
        return audit::Append(txn, audit_ctx, resource, "OK", now);
      },
      [result, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok()) {
          done(status);
        } else {
          done(std::move(*result));
        }
      });
}

int64_t AnonymiseSubjectEvents(store::WriteTxn& txn, ConsentStateIndex* index,
                               absl::string_view tenant, const std::string& subject_key) {
  const int64_t changed = rows::AnonymiseSubject(txn, std::string(tenant), subject_key);
  if (index != nullptr) {
    txn.AfterCommit([index, tenant = std::string(tenant), subject_key] {
      index->EraseSubject(tenant, subject_key);
    });
  }
  return changed;
}

std::vector<ConsentEvent> SubjectHistory(store::ReadTxn& txn, absl::string_view tenant,
                                         const std::string& subject_key) {
  return rows::SubjectEvents(txn, std::string(tenant), subject_key, "", INT64_MAX, 0);
}

}  // namespace dsar::consent
