#include "lib/consent/event_chains.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <queue>

#include "absl/container/flat_hash_set.h"
#include "lib/consent/consent_state_index.h"
#include "lib/core/log.h"

namespace dsar::consent {
namespace {

constexpr char kCreateSqlIndex[] =
    "CREATE INDEX IF NOT EXISTS consent_events_by_subject "
    "ON consent_events (tenant_id, subject_key, seq)";

template <typename Txn>
std::vector<int64_t> Walk(Txn& txn, const SubjectEventsQuery& query,
                          const std::vector<int64_t>& heads, int64_t own_rows_after) {
  // Max-heap of seqs to visit: a chain's seqs fall, so popping the highest
  // yields the subject's events newest first across all its chains.
  std::priority_queue<int64_t> next(heads.begin(), heads.end());
  if (own_rows_after >= 0) {
    // "+tenant_id": the range of seq above the committed ones (a few rows),
    // never consent_events_by_receipt's tenant_id prefix, which SQLite
    // otherwise prefers and which is every event of the tenant (~300 ms
    // per walk over 1,000,000 events, found by the erasure benchmark).
    SQLite::Statement& own = txn.Prepare(
        "SELECT seq FROM consent_events WHERE seq > ?1 AND +tenant_id = ?2 "
        "AND subject_key = ?3 AND (?4 = '' OR purpose = ?4)");
    own.bind(1, own_rows_after);
    own.bind(2, std::string(query.tenant));  // text: bindNoCopy(ptr, n) would bind a blob
    own.bindNoCopy(3, query.subject_key.data(), static_cast<int>(query.subject_key.size()));
    own.bind(4, std::string(query.purpose));
    while (own.executeStep()) next.push(own.getColumn(0).getInt64());
    own.reset();
  }
  SQLite::Statement& row = txn.Prepare(
      "SELECT tenant_id, subject_key, purpose, prev_seq FROM consent_events WHERE seq = ?");
  std::vector<int64_t> found;
  absl::flat_hash_set<int64_t> visited;
  while (!next.empty()) {
    const int64_t seq = next.top();
    next.pop();
    if (!visited.insert(seq).second) continue;
    row.reset();
    row.bind(1, seq);
    if (!row.executeStep()) continue;
    const SQLite::Column key = row.getColumn(1);
    const bool ours = row.getColumn(0).getText() == query.tenant &&
                      absl::string_view(static_cast<const char*>(key.getBlob()),
                                        static_cast<size_t>(key.getBytes())) == query.subject_key &&
                      (query.purpose.empty() || row.getColumn(2).getText() == query.purpose);
    if (!ours) continue;  // anonymised since the head was read: not the subject's
    if (seq < query.before_seq) {
      found.push_back(seq);
      if (query.limit > 0 && found.size() >= query.limit) break;
    }
    if (!row.getColumn(3).isNull()) next.push(row.getColumn(3).getInt64());
  }
  row.reset();
  return found;
}

}  // namespace

std::vector<int64_t> FindSubjectEvents(store::ReadTxn& txn, const SubjectEventsQuery& query,
                                       const std::vector<int64_t>& heads) {
  return Walk(txn, query, heads, -1);
}

std::vector<int64_t> FindSubjectEvents(store::WriteTxn& txn, const SubjectEventsQuery& query,
                                       const std::vector<int64_t>& heads, int64_t own_rows_after) {
  return Walk(txn, query, heads, own_rows_after);
}

std::vector<int64_t> ChainedSubjectEvents(store::WriteTxn& txn, const ConsentStateIndex& index,
                                          absl::string_view tenant, absl::string_view subject_key,
                                          absl::string_view purpose, size_t limit) {
  std::vector<int64_t> heads;
  index.LatestSeqsOf(tenant, subject_key, purpose, &heads);
  SubjectEventsQuery query;
  query.tenant = tenant;
  query.subject_key = subject_key;
  query.purpose = purpose;
  query.limit = limit;
  return FindSubjectEvents(txn, query, heads, index.committed_seq());
}

int64_t AnonymiseSubjectEvents(store::WriteTxn& txn, ConsentStateIndex* index,
                               absl::string_view tenant, const std::string& subject_key) {
  int64_t changed = 0;
  if (ChainsUsable(index)) {
    const std::vector<int64_t> seqs = ChainedSubjectEvents(txn, *index, tenant, subject_key, "", 0);
    SQLite::Statement& anonymise = txn.Prepare(
        "UPDATE consent_events SET subject_key = randomblob(32), prev_seq = NULL WHERE seq = ?");
    for (int64_t seq : seqs) {
      anonymise.reset();
      anonymise.bind(1, seq);
      changed += anonymise.exec();
    }
  } else {
    EnsureSqlSubjectIndex(txn);
    SQLite::Statement& anonymise = txn.Prepare(
        "UPDATE consent_events SET subject_key = randomblob(32), prev_seq = NULL "
        "WHERE tenant_id = ? AND subject_key = ?");
    anonymise.bind(1, std::string(tenant));
    anonymise.bindNoCopy(2, subject_key.data(), static_cast<int>(subject_key.size()));
    changed = anonymise.exec();
  }
  if (index != nullptr) {
    txn.AfterCommit([index, tenant = std::string(tenant), subject_key] {
      index->EraseSubject(tenant, subject_key);
    });
  }
  return changed;
}

bool ChainsUsable(const ConsentStateIndex* index) { return index != nullptr && index->enabled(); }

void EnsureSqlSubjectIndex(store::WriteTxn& txn) { txn.Exec(kCreateSqlIndex); }

absl::Status MatchSubjectIndex(store::Store& store, const ConsentStateIndex* index) {
  const bool drop = ChainsUsable(index);
  return store.WriteAndWait([drop](store::WriteTxn& txn) {
    if (drop) {
      txn.Exec("DROP INDEX IF EXISTS consent_events_by_subject");
    } else {
      log::Info("consent_subject_index_ensured", {});
      EnsureSqlSubjectIndex(txn);
    }
    return absl::OkStatus();
  });
}

}  // namespace dsar::consent
