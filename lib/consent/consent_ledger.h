// ConsentLedger: records, withdraws, checks and proves consent.
//
// Events are append-only (consent_events); the latest event of a (tenant,
// subject, purpose) is its current state. Check answers from the in-memory
// ConsentStateIndex when one is given, else with one indexed read of that
// latest event. A withdrawal appends its event, runs the
// ConsentFollowUp (propagation tasks and a 72-hour deadline) and writes an
// audit event, all in one write transaction: it takes effect when it commits,
// and the caller is answered only after that commit is durable. Mutations are
// idempotent: each event carries the request_id and fingerprint of the
// request that wrote it, and a retry finds them among the subject's events
// (a RecordConsent's request_id is scoped to its tenant and subject; keys
// written before migration 11, and withdrawals, use idempotency_keys).
// Subjects are typed identifiers (e-mail, customer id, phone), normalised
// per type; they are never stored: only SubjectKeyer::SubjectKey's HMAC.
//
// Records are batched: every RecordConsent that arrives while the store's
// writer is busy joins one store write, which looks up each request_id and
// then writes all new consents' events and audit events with multi-row
// statements (one statement per table instead of ~9 per consent). Each record still commits before
// it is answered, and answers exactly as it would alone (a retry replays, a reused request_id is
// refused).
//
// Thread-safe. Record/Withdraw/ListEvents/GetReceipt answer through callbacks
// (run on the store's writer thread, or inline on a validation error); Check is
// a synchronous read.
#ifndef DSAR_LIB_CONSENT_CONSENT_LEDGER_H_
#define DSAR_LIB_CONSENT_CONSENT_LEDGER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/call_context.h"
#include "lib/core/clock.h"
#include "lib/core/subject_identifier.h"
#include "lib/store/store.h"

namespace dsar::consent {

class ConsentStateIndex;
class PurposeCatalog;
class SubjectKeyer;

// Values match dsar.v1.LawfulBasis.
enum class LawfulBasis {
  kUnspecified = 0,
  kConsent = 1,
  kExplicitConsent = 2,
  kContract = 3,
  kLegalObligation = 4,
  kVitalInterests = 5,
  kPublicTask = 6,
  kLegitimateInterests = 7,
};
const char* LawfulBasisName(LawfulBasis basis);  // "consent", "contract", ...

enum class ConsentAction { kGiven = 1, kWithdrawn = 2 };
enum class ConsentState { kNone = 0, kGranted = 1, kWithdrawn = 2 };
// The current state that an event leaves behind (the latest event of a
// subject and purpose is its state).
inline ConsentState StateAfter(ConsentAction action) {
  return action == ConsentAction::kWithdrawn ? ConsentState::kWithdrawn : ConsentState::kGranted;
}

struct RecordConsentInput {
  SubjectIdentifier subject;
  std::string purpose;
  std::string notice_version;
  std::string language;
  LawfulBasis lawful_basis = LawfulBasis::kUnspecified;
  std::string channel;
  std::optional<absl::Time> given_at;  // defaults to now
};

struct WithdrawConsentInput {
  SubjectIdentifier subject;
  std::string purpose;
  std::string channel;
  std::string reason;
};

// Where the propagation of one change of a consent to one system stands.
struct Propagation {
  std::string connector;
  ConsentAction action = ConsentAction::kGiven;
  std::string state;  // the connector task's state: "pending", "done", "no_match", ...
  std::string task_id;
  absl::Time updated;
};

struct ConsentReceipt {
  std::string receipt_id;
  std::string tenant;
  std::string subject_pseudonym;
  std::string purpose;
  std::string notice_version;
  std::string language;
  LawfulBasis lawful_basis = LawfulBasis::kUnspecified;
  std::string channel;
  std::string actor;
  absl::Time given_at;
  absl::Time recorded_at;
  std::optional<absl::Time> withdrawn_at;
  std::string withdrawal_channel;
  // GetReceipt only: per system and change, where its propagation stands.
  std::vector<Propagation> propagation;
};

struct ConsentEvent {
  int64_t seq = 0;
  std::string event_id;
  std::string receipt_id;
  std::string purpose;
  ConsentAction action = ConsentAction::kGiven;
  std::string notice_version;
  std::string language;
  LawfulBasis lawful_basis = LawfulBasis::kUnspecified;
  std::string channel;
  std::string actor;
  std::string reason;
  absl::Time occurred_at;
  absl::Time recorded_at;
};

struct ConsentCheck {
  ConsentState state = ConsentState::kNone;
  std::string receipt_id;
  std::string notice_version;
  std::string current_notice_version;
  bool reconsent_required = false;
  absl::Time changed_at;
};

struct ListEventsInput {
  SubjectIdentifier subject;
  std::string purpose;  // empty: all purposes
  int page_size = 0;    // 0: default 100
  std::string page_token;
};

struct EventPage {
  std::vector<ConsentEvent> events;
  std::string next_page_token;
};

// What else must happen, in the same transaction, when consent is given or
// withdrawn: a propagation task per connector declaring the purpose (carrying
// the change's time, so connectors keep the latest), and for a withdrawal a
// 72-hour propagation deadline. Implemented by the wiring with the connector
// outbox and the deadline engine. `subject` (normalised) is given in clear
// because connectors need it; implementations must not log it.
class ConsentFollowUp {
 public:
  virtual ~ConsentFollowUp() = default;
  // `change_time`: when the subject gave (give time) or withdrew consent.
  virtual absl::Status OnChanged(store::WriteTxn& txn, const CallContext& ctx,
                                 const ConsentReceipt& receipt, ConsentAction action,
                                 const SubjectIdentifier& subject, absl::Time change_time,
                                 absl::Time now) = 0;
  // After a change's transaction committed (e.g. wake the dispatcher).
  virtual void Committed() {}
  // Where the propagation of `receipt`'s changes stands, per system, read in
  // `txn` (GetReceipt). Appends to `receipt->propagation`.
  virtual absl::Status ReadPropagation(store::ReadTxn& txn, ConsentReceipt* receipt) {
    (void)txn;
    (void)receipt;
    return absl::OkStatus();
  }
};

class ConsentLedger {
 public:
  using ReceiptDone = absl::AnyInvocable<void(absl::StatusOr<ConsentReceipt>)>;
  using PageDone = absl::AnyInvocable<void(absl::StatusOr<EventPage>)>;

  // Pointers are not owned and must outlive the ledger; `follow_up` and
  // `index` may be null. With an index, Check answers from it, and every
  // state change updates it once committed (ConsentStateIndex).
  ConsentLedger(store::Store* store, Clock* clock, const SubjectKeyer* keyer,
                const PurposeCatalog* catalog, ConsentFollowUp* follow_up,
                ConsentStateIndex* index = nullptr);

  void Record(const CallContext& ctx, RecordConsentInput input, ReceiptDone done);
  void Withdraw(const CallContext& ctx, WithdrawConsentInput input, ReceiptDone done);
  // INVALID_ARGUMENT for a missing or malformed subject or an unknown purpose.
  absl::StatusOr<ConsentCheck> Check(const CallContext& ctx, SubjectIdentifier subject,
                                     absl::string_view purpose);
  // Reads of personal data: each writes an audit event before answering.
  void ListEvents(const CallContext& ctx, ListEventsInput input, PageDone done);
  void GetReceipt(const CallContext& ctx, std::string receipt_id, ReceiptDone done);

 private:
  struct PendingRecord;
  using RecordBatch = std::vector<std::shared_ptr<PendingRecord>>;

  absl::Status ValidateRecord(const CallContext& ctx, RecordConsentInput& in, absl::Time now) const;
  // Queues one store write that takes every record pending when it runs.
  void SubmitRecordBatch();
  // Writer thread: the batch's records in one transaction.
  absl::Status WriteRecords(store::WriteTxn& txn, RecordBatch& batch);

  store::Store* const store_;
  Clock* const clock_;
  const SubjectKeyer* const keyer_;
  const PurposeCatalog* const catalog_;
  ConsentFollowUp* const follow_up_;
  ConsentStateIndex* const index_;

  absl::Mutex batch_mu_;
  RecordBatch pending_ ABSL_GUARDED_BY(batch_mu_);
  bool batch_queued_ ABSL_GUARDED_BY(batch_mu_) = false;  // a write will take pending_
};

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_CONSENT_LEDGER_H_
