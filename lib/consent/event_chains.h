// Event chains: how a subject's consent events are found without a database
// index by subject.
//
// Every consent event carries prev_seq, the seq of the previous event of the
// same (tenant, subject, purpose) (migration 14); the ConsentStateIndex holds
// the latest one of each. So the events of a subject are the chains that
// start at its latest events, followed through prev_seq. Inside a write, rows
// above the index's committed_seq() are the transaction's own (earlier
// writes of the same group, not yet in memory): they are found by a scan of
// that short seq range and start chains too.
//
// Every row on a chain is checked to belong to the tenant and subject before
// it counts or is followed: erasure replaces an event's subject key and
// unlinks it (prev_seq NULL) in a transaction whose after-commit hook removes
// the subject from memory, so a write in that transaction may still see the
// old heads.
//
// While the index is off (or absent), consent_events_by_subject answers the
// same questions; EnsureSqlSubjectIndex builds it (once: it takes ~2 s per
// million events) and MatchSubjectIndex keeps it only while it is needed.
#ifndef DSAR_LIB_CONSENT_EVENT_CHAINS_H_
#define DSAR_LIB_CONSENT_EVENT_CHAINS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "lib/store/store.h"

namespace dsar::consent {

class ConsentStateIndex;

// Which events of a subject to find.
struct SubjectEventsQuery {
  absl::string_view tenant;
  absl::string_view subject_key;
  absl::string_view purpose;       // empty: every purpose
  int64_t before_seq = INT64_MAX;  // only events below this seq
  size_t limit = 0;                // at most this many (0: all)
};

// The seqs of the subject's events, newest first, from `heads` (the
// committed latest seqs, ConsentStateIndex::LatestSeqsOf) and, when
// `own_rows_after` >= 0, the rows above it (inside a write: the index's
// committed_seq()). Reads one row per event visited.
std::vector<int64_t> FindSubjectEvents(store::ReadTxn& txn, const SubjectEventsQuery& query,
                                       const std::vector<int64_t>& heads);
std::vector<int64_t> FindSubjectEvents(store::WriteTxn& txn, const SubjectEventsQuery& query,
                                       const std::vector<int64_t>& heads, int64_t own_rows_after);

// Inside a write, with the chains usable: the subject's events (of
// `purpose`, or all when empty), newest first, at most `limit` (0: all), from
// `index`'s heads and the transaction's own rows.
std::vector<int64_t> ChainedSubjectEvents(store::WriteTxn& txn, const ConsentStateIndex& index,
                                          absl::string_view tenant, absl::string_view subject_key,
                                          absl::string_view purpose, size_t limit);

// Erasure of one subject key: each of its events gets a fresh random subject
// key and leaves its chain (prev_seq NULL), so the rows are unlinked from the
// person and from each other; the subject's states leave `index` (may be
// null) once the write commits. Returns how many events changed.
int64_t AnonymiseSubjectEvents(store::WriteTxn& txn, ConsentStateIndex* index,
                               absl::string_view tenant, const std::string& subject_key);

// True when `index` can stand in for consent_events_by_subject (it is given
// and on); false: use the database index.
bool ChainsUsable(const ConsentStateIndex* index);

// Inside a write, with the chains unusable: creates consent_events_by_subject
// if a start-up with the index on dropped it. Cheap once it exists.
void EnsureSqlSubjectIndex(store::WriteTxn& txn);

// At start-up, after the index loaded (or without one): drops
// consent_events_by_subject while the index is on, else makes sure it exists.
absl::Status MatchSubjectIndex(store::Store& store, const ConsentStateIndex* index);

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_EVENT_CHAINS_H_
