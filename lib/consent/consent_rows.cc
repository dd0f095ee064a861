#include "lib/consent/consent_rows.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/VariadicBind.h>

#include "absl/strings/str_cat.h"
#include "lib/consent/subject_keyer.h"
#include "lib/store/multi_row.h"

namespace dsar::consent::rows {
namespace {

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

// Subject keys are blobs: SQLite::bind would bind a std::string as text,
// which never equals a blob.
void BindKey(SQLite::Statement& q, int index, const std::string& subject_key) {
  q.bindNoCopy(index, subject_key.data(), static_cast<int>(subject_key.size()));
}

LatestEvent LatestEventFrom(SQLite::Statement& q) {
  LatestEvent latest;
  if (q.executeStep()) {
    latest.state = StateAfter(static_cast<ConsentAction>(q.getColumn(0).getInt()));
    latest.receipt_id = q.getColumn(1).getString();
    latest.notice_version = q.getColumn(2).getString();
    latest.changed_at = FromMicros(q.getColumn(3).getInt64());
    latest.seq = q.getColumn(4).getInt64();
  }
  q.reset();
  return latest;
}

template <typename Txn>
LatestEvent ReadLatestIn(Txn& txn, const std::string& tenant, const std::string& subject_key,
                         const std::string& purpose) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT action, receipt_id, notice_version, recorded_at_us, seq FROM consent_events "
      "WHERE tenant_id = ?1 AND subject_key = ?2 AND purpose = ?3 ORDER BY seq DESC LIMIT 1");
  SQLite::bind(q, tenant);
  BindKey(q, 2, subject_key);
  q.bind(3, purpose);
  return LatestEventFrom(q);
}

template <typename Txn>
absl::StatusOr<ConsentReceipt> LoadReceiptIn(Txn& txn, const std::string& tenant,
                                             const std::string& receipt_id) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT action, subject_key, purpose, notice_version, language, lawful_basis, channel, "
      "actor, occurred_at_us, recorded_at_us FROM consent_events "
      "WHERE tenant_id = ? AND receipt_id = ? ORDER BY seq");
  SQLite::bind(q, tenant, receipt_id);
  ConsentReceipt r;
  bool found = false;
  while (q.executeStep()) {
    auto action = static_cast<ConsentAction>(q.getColumn(0).getInt());
    if (action == ConsentAction::kGiven) {
      found = true;
      r.receipt_id = receipt_id;
      r.tenant = tenant;
      r.subject_pseudonym = PseudonymFromKey(q.getColumn(1).getString());
      r.purpose = q.getColumn(2).getString();
      r.notice_version = q.getColumn(3).getString();
      r.language = q.getColumn(4).getString();
      r.lawful_basis = static_cast<LawfulBasis>(q.getColumn(5).getInt());
      r.channel = q.getColumn(6).getString();
      r.actor = q.getColumn(7).getString();
      r.given_at = FromMicros(q.getColumn(8).getInt64());
      r.recorded_at = FromMicros(q.getColumn(9).getInt64());
    } else if (action == ConsentAction::kWithdrawn && !r.withdrawn_at.has_value()) {
      r.withdrawn_at = FromMicros(q.getColumn(8).getInt64());
      r.withdrawal_channel = q.getColumn(6).getString();
    }
  }
  q.reset();
  if (!found) return absl::NotFoundError(absl::StrCat("receipt ", receipt_id, " not found"));
  return r;
}

}  // namespace

int64_t NextEventSeq(store::WriteTxn& txn) {
  SQLite::Statement& q = txn.Prepare("SELECT coalesce(max(seq), 0) FROM consent_events");
  q.executeStep();
  const int64_t next = q.getColumn(0).getInt64() + 1;
  q.reset();
  return next;
}

void InsertEvents(store::WriteTxn& txn, const std::vector<EventRow>& rows) {
  store::ExecMultiRow(
      txn,
      "INSERT INTO consent_events (seq, tenant_id, event_id, receipt_id, subject_key, "
      "purpose, action, notice_version, language, lawful_basis, channel, actor, reason, "
      "occurred_at_us, recorded_at_us, request_id, request_fingerprint) VALUES ",
      17, "", rows.size(), [&](SQLite::Statement& insert, int& p, size_t i) {
        const ConsentEvent& e = *rows[i].event;
        // Positions run on across the rows of one statement, so these binds
        // count (SQLite::bind starts at 1). SQLITE_STATIC: every string
        // outlives the statement's execution.
        insert.bind(p++, static_cast<int64_t>(e.seq));
        insert.bindNoCopy(p++, *rows[i].tenant);
        insert.bindNoCopy(p++, e.event_id);
        insert.bindNoCopy(p++, e.receipt_id);
        BindKey(insert, p++, *rows[i].subject_key);
        insert.bindNoCopy(p++, e.purpose);
        insert.bind(p++, static_cast<int>(e.action));
        insert.bindNoCopy(p++, e.notice_version);
        insert.bindNoCopy(p++, e.language);
        insert.bind(p++, static_cast<int>(e.lawful_basis));
        insert.bindNoCopy(p++, e.channel);
        insert.bindNoCopy(p++, e.actor);
        insert.bindNoCopy(p++, e.reason);
        insert.bind(p++, static_cast<int64_t>(Micros(e.occurred_at)));
        insert.bind(p++, static_cast<int64_t>(Micros(e.recorded_at)));
        insert.bindNoCopy(p++, rows[i].key->value());
        insert.bindNoCopy(p++, rows[i].fingerprint->data(),
                          static_cast<int>(rows[i].fingerprint->size()));
      });
}

std::optional<RecordedRequest> FindRequest(store::WriteTxn& txn, const std::string& tenant,
                                           const std::string& subject_key,
                                           const IdempotencyKey& key) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT action, receipt_id, request_fingerprint FROM consent_events "
      "WHERE tenant_id = ?1 AND subject_key = ?2 AND request_id = ?3 LIMIT 1");
  SQLite::bind(q, tenant);
  BindKey(q, 2, subject_key);
  q.bind(3, key.value());
  std::optional<RecordedRequest> found;
  if (q.executeStep()) {
    found = RecordedRequest{static_cast<ConsentAction>(q.getColumn(0).getInt()),
                            q.getColumn(1).getString(), q.getColumn(2).getString()};
  }
  q.reset();
  return found;
}

LatestEvent ReadLatest(store::ReadTxn& txn, const std::string& tenant,
                       const std::string& subject_key, const std::string& purpose) {
  return ReadLatestIn(txn, tenant, subject_key, purpose);
}
LatestEvent ReadLatest(store::WriteTxn& txn, const std::string& tenant,
                       const std::string& subject_key, const std::string& purpose) {
  return ReadLatestIn(txn, tenant, subject_key, purpose);
}

absl::StatusOr<ConsentReceipt> LoadReceipt(store::ReadTxn& txn, const std::string& tenant,
                                           const std::string& receipt_id) {
  return LoadReceiptIn(txn, tenant, receipt_id);
}
absl::StatusOr<ConsentReceipt> LoadReceipt(store::WriteTxn& txn, const std::string& tenant,
                                           const std::string& receipt_id) {
  return LoadReceiptIn(txn, tenant, receipt_id);
}

std::vector<ConsentEvent> SubjectEvents(store::ReadTxn& txn, const std::string& tenant,
                                        const std::string& subject_key, const std::string& purpose,
                                        int64_t before_seq, int limit) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT seq, event_id, receipt_id, purpose, action, notice_version, language, "
      "lawful_basis, channel, actor, reason, occurred_at_us, recorded_at_us "
      "FROM consent_events WHERE tenant_id = ?1 AND subject_key = ?2 AND seq < ?3 "
      "AND (?4 = '' OR purpose = ?4) ORDER BY seq DESC LIMIT ?5");
  SQLite::bind(q, tenant);
  BindKey(q, 2, subject_key);
  q.bind(3, before_seq);
  q.bind(4, purpose);
  q.bind(5, limit > 0 ? limit : -1);  // a negative LIMIT: no limit
  std::vector<ConsentEvent> events;
  while (q.executeStep()) {
    ConsentEvent e;
    e.seq = q.getColumn(0).getInt64();
    e.event_id = q.getColumn(1).getString();
    e.receipt_id = q.getColumn(2).getString();
    e.purpose = q.getColumn(3).getString();
    e.action = static_cast<ConsentAction>(q.getColumn(4).getInt());
    e.notice_version = q.getColumn(5).getString();
    e.language = q.getColumn(6).getString();
    e.lawful_basis = static_cast<LawfulBasis>(q.getColumn(7).getInt());
    e.channel = q.getColumn(8).getString();
    e.actor = q.getColumn(9).getString();
    e.reason = q.getColumn(10).getString();
    e.occurred_at = FromMicros(q.getColumn(11).getInt64());
    e.recorded_at = FromMicros(q.getColumn(12).getInt64());
    events.push_back(std::move(e));
  }
  q.reset();
  return events;
}

int64_t AnonymiseSubject(store::WriteTxn& txn, const std::string& tenant,
                         const std::string& subject_key) {
  SQLite::Statement& anonymise = txn.Prepare(
      "UPDATE consent_events SET subject_key = randomblob(32), prev_seq = NULL "
      "WHERE tenant_id = ?1 AND subject_key = ?2");
  SQLite::bind(anonymise, tenant);
  BindKey(anonymise, 2, subject_key);
  const int64_t changed = anonymise.exec();
  anonymise.reset();
  return changed;
}

void ForEachEvent(store::ReadTxn& txn, absl::FunctionRef<bool(const StoredEvent&)> visit) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT tenant_id, purpose, notice_version, subject_key, action, receipt_id, "
      "recorded_at_us, seq FROM consent_events ORDER BY seq");
  while (q.executeStep()) {
    const SQLite::Column key = q.getColumn(3);
    StoredEvent e{q.getColumn(0).getText(),
                  q.getColumn(1).getText(),
                  q.getColumn(2).getText(),
                  absl::string_view(static_cast<const char*>(key.getBlob()),
                                    static_cast<size_t>(key.getBytes())),
                  static_cast<ConsentAction>(q.getColumn(4).getInt()),
                  q.getColumn(5).getText(),
                  q.getColumn(6).getInt64(),
                  q.getColumn(7).getInt64()};
    if (!visit(e)) break;
  }
  q.reset();
}

}  // namespace dsar::consent::rows
