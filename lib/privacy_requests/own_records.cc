#include "lib/privacy_requests/own_records.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "lib/audit/audit_log.h"
#include "lib/consent/consent_ledger.h"
#include "lib/consent/consent_state_index.h"
#include "lib/consent/event_chains.h"
#include "lib/core/status_macros.h"
#include "lib/privacy_requests/request_rows.h"
#include "lib/privacy_requests/transitions.h"

namespace dsar::privacy_requests {

int64_t AnonymiseConsentHistory(store::WriteTxn& txn, consent::ConsentStateIndex* index,
                                absl::string_view tenant, const std::vector<std::string>& keys) {
  int64_t changed = 0;
  for (const auto& key : keys) changed += consent::AnonymiseSubjectEvents(txn, index, tenant, key);
  return changed;
}

absl::StatusOr<OwnRecordsErased> EraseOwnRecords(
    store::WriteTxn& txn, consent::ConsentStateIndex* index, absl::string_view tenant,
    absl::string_view request_id, const std::vector<std::string>& keys, absl::Time now) {
  OwnRecordsErased out;
  out.consent_events = AnonymiseConsentHistory(txn, index, tenant, keys);
  for (std::string& other : rows::OtherRequestsOf(txn, tenant, request_id, keys)) {
    if (!rows::MarkExportErased(txn, tenant, other, now)) continue;
    rows::DestroyWrappedKey(txn, tenant, other);
    RETURN_IF_ERROR(audit::Append(txn, internal::SystemContext(std::string(tenant), "EraseExport"),
                                  absl::StrCat(RequestName(other), "/export"), "OK", now));
    out.exports.push_back(std::move(other));
  }
  return out;
}

namespace {

std::string Rfc3339Us(int64_t us) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(us), absl::UTCTimeZone());
}

// The seqs of the consent events under `key`, newest first.
std::vector<int64_t> ConsentSeqs(store::ReadTxn& txn, const consent::ConsentStateIndex* index,
                                 absl::string_view tenant, const std::string& key) {
  std::vector<int64_t> seqs;
  std::vector<int64_t> heads;
  if (index != nullptr && index->LatestSeqsOf(tenant, key, "", &heads)) {
    consent::SubjectEventsQuery query;
    query.tenant = tenant;
    query.subject_key = key;
    return consent::FindSubjectEvents(txn, query, heads);
  }
  // The index is off: the database keeps consent_events_by_subject.
  SQLite::Statement& q = txn.Prepare(
      "SELECT seq FROM consent_events WHERE tenant_id = ? AND subject_key = ? ORDER BY seq DESC");
  q.bind(1, std::string(tenant));
  q.bind(2, key.data(), static_cast<int>(key.size()));
  while (q.executeStep()) seqs.push_back(q.getColumn(0).getInt64());
  q.reset();
  return seqs;
}

}  // namespace

std::string OwnRecordsJson(store::ReadTxn& txn, const consent::ConsentStateIndex* index,
                           absl::string_view tenant, absl::string_view request_id,
                           const std::vector<std::string>& keys, int64_t* count) {
  using nlohmann::json;
  std::vector<int64_t> seqs;
  for (const auto& key : keys) {
    for (int64_t seq : ConsentSeqs(txn, index, tenant, key)) seqs.push_back(seq);
  }
  std::sort(seqs.rbegin(), seqs.rend());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  json events = json::array();
  SQLite::Statement& event = txn.Prepare(
      "SELECT receipt_id, purpose, action, notice_version, language, lawful_basis, channel, "
      "reason, occurred_at_us, recorded_at_us FROM consent_events WHERE seq = ?");
  for (int64_t seq : seqs) {
    event.reset();
    event.bind(1, seq);
    if (!event.executeStep()) continue;
    const auto action = static_cast<consent::ConsentAction>(event.getColumn(2).getInt());
    json e = {{"receipt_id", event.getColumn(0).getString()},
              {"purpose", event.getColumn(1).getString()},
              {"action", action == consent::ConsentAction::kWithdrawn ? "withdrawn" : "given"},
              {"notice_version", event.getColumn(3).getString()},
              {"language", event.getColumn(4).getString()},
              {"lawful_basis", consent::LawfulBasisName(
                                   static_cast<consent::LawfulBasis>(event.getColumn(5).getInt()))},
              {"channel", event.getColumn(6).getString()},
              {"occur_time", Rfc3339Us(event.getColumn(8).getInt64())},
              {"record_time", Rfc3339Us(event.getColumn(9).getInt64())}};
    if (!event.getColumn(7).getString().empty()) e["reason"] = event.getColumn(7).getString();
    events.push_back(std::move(e));
  }
  event.reset();

  const std::vector<std::string> others = rows::OtherRequestsOf(txn, tenant, request_id, keys);
  json requests = json::array();
  SQLite::Statement& req = txn.Prepare(
      "SELECT type, state, received_at_us, closed_at_us FROM privacy_requests "
      "WHERE tenant_id = ? AND request_id = ?");
  for (const auto& id : others) {
    req.reset();
    req.bind(1, std::string(tenant));
    req.bind(2, id);
    if (!req.executeStep()) continue;
    json r = {{"name", RequestName(id)},
              {"type", RequestTypeName(static_cast<RequestType>(req.getColumn(0).getInt()))},
              {"state", RequestStateName(static_cast<RequestState>(req.getColumn(1).getInt()))},
              {"receive_time", Rfc3339Us(req.getColumn(2).getInt64())}};
    if (!req.getColumn(3).isNull()) r["close_time"] = Rfc3339Us(req.getColumn(3).getInt64());
    requests.push_back(std::move(r));
  }
  req.reset();
  if (count != nullptr) *count = static_cast<int64_t>(events.size() + requests.size());
  json out = {{"consent_events", std::move(events)}, {"requests", std::move(requests)}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace dsar::privacy_requests
