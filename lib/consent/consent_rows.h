// consent_rows: every SQL statement of the consent module (consent_events).
//
// The repository half of lib/consent: the ledger (consent_ledger.h) decides,
// these functions read and write rows, so a second storage engine would
// reimplement this file only (docs/architecture.md, "The repository layer").
// A subject's events are found through consent_events_by_subject (tenant,
// subject_key, seq), which always exists (migration 18): the one lookup path,
// whether or not the in-memory ConsentStateIndex is on.
//
// Subject keys are bound as blobs (SubjectKeyer's HMAC bytes); every other
// parameter through SQLiteCpp's SQLite::bind. Each function runs inside the
// caller's transaction and leaves its cached statement reset.
#ifndef DSAR_LIB_CONSENT_CONSENT_ROWS_H_
#define DSAR_LIB_CONSENT_CONSENT_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/consent/consent_types.h"
#include "lib/core/idempotency_key.h"
#include "lib/store/txn.h"

namespace dsar::consent::rows {

// One consent event row to insert; the pointers outlive the insert. The
// request that wrote it (request_id and fingerprint) answers that request's
// retries: consent keeps no idempotency key of its own.
struct EventRow {
  const std::string* tenant;
  const std::string* subject_key;
  const ConsentEvent* event;  // its seq is the row's
  const IdempotencyKey* key;  // the request_id column
  const std::string* fingerprint;
};

// The seq that the next event gets: events carry explicit seqs so a batch
// knows them before its multi-row insert.
int64_t NextEventSeq(store::WriteTxn& txn);
// One multi-row INSERT per call (store::ExecMultiRow).
void InsertEvents(store::WriteTxn& txn, const std::vector<EventRow>& rows);

// The event that the call with idempotency key `key` wrote for this
// subject, if any.
struct RecordedRequest {
  ConsentAction action;
  std::string receipt_id;
  std::string fingerprint;
};
std::optional<RecordedRequest> FindRequest(store::WriteTxn& txn, const std::string& tenant,
                                           const std::string& subject_key,
                                           const IdempotencyKey& key);

// The latest event of (subject, purpose): its current state (kNone: none).
struct LatestEvent {
  ConsentState state = ConsentState::kNone;
  std::string receipt_id;
  std::string notice_version;
  absl::Time changed_at;
  int64_t seq = 0;
};
LatestEvent ReadLatest(store::ReadTxn& txn, const std::string& tenant,
                       const std::string& subject_key, const std::string& purpose);
LatestEvent ReadLatest(store::WriteTxn& txn, const std::string& tenant,
                       const std::string& subject_key, const std::string& purpose);

// A receipt from its events (given, then a withdrawal if any). NOT_FOUND
// when the tenant has no consent given under `receipt_id`.
absl::StatusOr<ConsentReceipt> LoadReceipt(store::ReadTxn& txn, const std::string& tenant,
                                           const std::string& receipt_id);
absl::StatusOr<ConsentReceipt> LoadReceipt(store::WriteTxn& txn, const std::string& tenant,
                                           const std::string& receipt_id);

// The subject's events below `before_seq`, newest first, of `purpose` (empty:
// all), at most `limit` (0: all).
std::vector<ConsentEvent> SubjectEvents(store::ReadTxn& txn, const std::string& tenant,
                                        const std::string& subject_key, const std::string& purpose,
                                        int64_t before_seq, int limit);

// Erasure: every event of the subject key gets a fresh random key (and
// leaves the prev_seq chain of migration 14). Returns how many changed.
int64_t AnonymiseSubject(store::WriteTxn& txn, const std::string& tenant,
                         const std::string& subject_key);

// Every event in seq order, for the state index's load; the views are valid
// during the call only. Stops when `visit` returns false.
struct StoredEvent {
  absl::string_view tenant;
  absl::string_view purpose;
  absl::string_view notice_version;
  absl::string_view subject_key;
  ConsentAction action;
  absl::string_view receipt_id;
  int64_t recorded_at_us;
  int64_t seq;
};
void ForEachEvent(store::ReadTxn& txn, absl::FunctionRef<bool(const StoredEvent&)> visit);

}  // namespace dsar::consent::rows

#endif  // DSAR_LIB_CONSENT_CONSENT_ROWS_H_
