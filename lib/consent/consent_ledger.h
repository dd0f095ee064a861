// ConsentLedger: records, withdraws, checks and proves consent.
//
// Events are append-only (consent_events); the latest event of a (tenant,
// subject, purpose) is its current state. Check answers from the in-memory
// ConsentStateIndex when one is given and on, else with one indexed read of
// that latest event (consent_events_by_subject, which always exists). A
// withdrawal appends its event, runs the ConsentFollowUp (propagation tasks
// and a 72-hour deadline) and writes an audit event, all in one write
// transaction: it takes effect when it commits, and the caller is answered
// only after that commit is durable. Subjects are typed identifiers (e-mail,
// customer id, phone), normalised per type; they are never stored: only
// SubjectKeyer::SubjectKey's HMAC.
//
// Idempotency: one mechanism. Each event carries the request_id and
// fingerprint of the request that wrote it, and a retry finds them among the
// subject's events (a request_id is scoped to its tenant and subject), so
// RecordConsent writes no idempotency_keys row: measured, that row cost ~13 %
// of RecordConsent's CPU (docs/benchmarks-history.md, migration 11). Answers written
// before migration 11 were moved into their events by migration 18. A
// withdrawal of a consent already withdrawn writes nothing and answers the
// receipt; its retry is evaluated again.
//
// The ledger decides; its SQL is in consent_rows.h, and RecordConsent's
// grouping into store writes in record_batcher.h: every record that arrives
// while the writer is busy joins one write, which looks up each request_id
// and then writes all new consents' events and audit events with multi-row
// statements. Each record still commits before it is answered, and answers
// exactly as it would alone (a retry replays, a reused request_id is refused).
//
// Thread-safe. Record/Withdraw/ListEvents/GetReceipt answer through callbacks
// (run on the store's completion thread, or inline on a validation error);
// Check is a synchronous read.
#ifndef DSAR_LIB_CONSENT_CONSENT_LEDGER_H_
#define DSAR_LIB_CONSENT_CONSENT_LEDGER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/consent/consent_types.h"
#include "lib/consent/record_batcher.h"
#include "lib/core/call_context.h"
#include "lib/core/clock.h"
#include "lib/core/subject_identifier.h"
#include "lib/store/store.h"

namespace dsar::consent {

class ConsentStateIndex;
class PurposeCatalog;
class SubjectKeyer;

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
  using RecordBatch = RecordBatcher<PendingRecord>::Batch;

  absl::Status ValidateRecord(const CallContext& ctx, RecordConsentInput& in, absl::Time now) const;
  // Writer thread: the batch's records in one transaction.
  absl::Status WriteRecords(store::WriteTxn& txn, RecordBatch& batch);
  // Completion thread: answers the batch's records.
  void AnswerRecords(absl::Status status, RecordBatch& batch);

  store::Store* const store_;
  Clock* const clock_;
  const SubjectKeyer* const keyer_;
  const PurposeCatalog* const catalog_;
  ConsentFollowUp* const follow_up_;
  ConsentStateIndex* const index_;
  RecordBatcher<PendingRecord> batcher_;
};

// Erasure of one subject key, inside the erasing write: each of its events
// gets a fresh random subject key, so the rows are unlinked from the person;
// the subject's states leave `index` (may be null) once the write commits.
// Returns how many events changed.
int64_t AnonymiseSubjectEvents(store::WriteTxn& txn, ConsentStateIndex* index,
                               absl::string_view tenant, const std::string& subject_key);

// Every consent event under `subject_key`, newest first (an access export's
// dsard records).
std::vector<ConsentEvent> SubjectHistory(store::ReadTxn& txn, absl::string_view tenant,
                                         const std::string& subject_key);

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_CONSENT_LEDGER_H_
