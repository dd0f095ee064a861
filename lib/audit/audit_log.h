// AuditLog: append-only, hash-chained record of who did what.
//
// Every mutating call and every read of personal data appends one event in the
// same write transaction as the change itself, so an event exists exactly when
// the change does. Events hold ids, method names and outcomes, never personal
// data. Each row carries the SHA-256 of the previous row (prev_hash) and of its
// own content including its sequence number (hash); the head (last seq and
// hash) is kept in a one-row table updated in the same transaction. Verify
// recomputes the chain and names the first row that was altered, deleted or
// reordered. The chain is global across tenants; listing filters by tenant.
//
// Thread-safety: Append runs on the store's writer thread (inside a WriteFn);
// List and Verify use read connections and may run from any thread.
#ifndef DSAR_LIB_AUDIT_AUDIT_LOG_H_
#define DSAR_LIB_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/core/call_context.h"
#include "lib/store/store.h"

namespace dsar::audit {

struct AuditEvent {
  int64_t seq = 0;
  std::string tenant;
  absl::Time time;
  std::string principal;
  std::string role;
  std::string method;
  std::string resource;  // resource name, e.g. "consents/rcpt_x"; no personal data
  std::string outcome;   // "OK" or a canonical code name, e.g. "INVALID_ARGUMENT"
  std::string request_id;
  std::string prev_hash;  // hex
  std::string hash;       // hex
  // Coalesced refusals (lib/audit/refusal_recorder.h): the caller's network
  // address (IP, no port), how many calls the row stands for, and the
  // refusal's ErrorInfo reason (e.g. "INVALID_CREDENTIALS"). Every other row
  // has "", 1 and "", and hashes as rows did before these columns existed.
  std::string peer;
  int64_t count = 1;
  std::string reason;
};

struct VerifyResult {
  bool ok = true;
  int64_t from_seq = 1;  // the first row checked (1: the whole chain)
  int64_t rows_checked = 0;
  int64_t first_bad_seq = 0;  // 0 when ok
  std::string reason;         // why that row fails; empty when ok
  std::string head_hash;      // hash of the last row, for anchoring elsewhere
};

// The tenant of events that name none: refusals of callers who did not
// authenticate (shown to principals of all tenants only).
inline constexpr char kNoTenant[] = "-";

struct ListOptions {
  std::string tenant;     // required: events of this tenant only
  int64_t after_seq = 0;  // page cursor: events with seq > after_seq
  int page_size = 100;    // 1..1000
  // Also the events of no tenant (kNoTenant), for principals of all tenants.
  bool with_unattributed = false;
};

// Appends an event inside the caller's write transaction. The event's seq and
// hashes are computed here. `outcome` is "OK" or a canonical code name.
absl::Status Append(store::WriteTxn& txn, const CallContext& ctx, absl::string_view resource,
                    absl::string_view outcome, absl::Time now);

// One event of AppendBatch; the pointed-to context outlives the call.
struct PendingEvent {
  const CallContext* ctx;
  std::string resource;
  std::string outcome;
  // Coalesced refusals only (see AuditEvent); the defaults otherwise.
  std::string peer;
  int64_t count = 1;
  std::string reason;
  absl::Time time = absl::InfinitePast();  // when it happened; InfinitePast: `now`
};
// Appends `events` in order, as that many Append calls would, reading and
// writing the head once and inserting with multi-row statements (for batched
// writers).
absl::Status AppendBatch(store::WriteTxn& txn, const std::vector<PendingEvent>& events,
                         absl::Time now);

// Events of one tenant in seq order.
absl::StatusOr<std::vector<AuditEvent>> List(store::Store& store, const ListOptions& options);

// One page of ListAuditEvents: `tenant`'s events in seq order.
struct EventPage {
  std::vector<AuditEvent> events;
  std::string next_page_token;  // empty when fewer than a page came back
};
// `page_size` 0 means 100; `page_token` is empty or a next_page_token of an
// earlier page (the last sequence number sent: events only ever append).
// `with_unattributed`: also the events of no tenant (kNoTenant), for
// principals of all tenants.
// INVALID_ARGUMENT (fields "page_size" outside 0..1000, "page_token").
absl::StatusOr<EventPage> ListPage(store::Store& store, absl::string_view tenant, int page_size,
                                   absl::string_view page_token, bool with_unattributed = false);

// The chain's head: last sequence number and its hash (0 and 64 zeros when
// empty), for anchoring outside the database.
struct Head {
  int64_t seq = 0;
  std::string hash;
};
absl::StatusOr<Head> ReadHead(store::Store& store);
// The same inside the caller's snapshot (e.g. the one a backup copies).
Head ReadHead(store::ReadTxn& txn);

// Walks the whole chain in one read snapshot.
absl::StatusOr<VerifyResult> Verify(store::Store& store);
// Walks the rows after `after_seq` in one read snapshot, the first of them
// chained to `after_hash` (a head verified before); then the head. Rows up
// to `after_seq` are not read again.
absl::StatusOr<VerifyResult> VerifyAfter(store::Store& store, int64_t after_seq,
                                         const std::string& after_hash);

// The hash a row must carry; exposed for tests.
std::string ComputeHash(const AuditEvent& event);

}  // namespace dsar::audit

#endif  // DSAR_LIB_AUDIT_AUDIT_LOG_H_
