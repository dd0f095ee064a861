#include "lib/privacy_requests/own_records.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "lib/audit/audit_log.h"
#include "lib/consent/consent_ledger.h"
#include "lib/consent/consent_state_index.h"
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

}  // namespace

std::string OwnRecordsJson(store::ReadTxn& txn, absl::string_view tenant,
                           absl::string_view request_id, const std::vector<std::string>& keys,
                           int64_t* count) {
  using nlohmann::json;
  // Newest first across all the person's keys (a seq is one event).
  std::vector<consent::ConsentEvent> history;
  for (const auto& key : keys) {
    for (consent::ConsentEvent& e : consent::SubjectHistory(txn, tenant, key)) {
      history.push_back(std::move(e));
    }
  }
  std::sort(
      history.begin(), history.end(),
      [](const consent::ConsentEvent& a, const consent::ConsentEvent& b) { return a.seq > b.seq; });
  history.erase(std::unique(history.begin(), history.end(),
                            [](const consent::ConsentEvent& a, const consent::ConsentEvent& b) {
                              return a.seq == b.seq;
                            }),
                history.end());
  json events = json::array();
  for (const consent::ConsentEvent& event : history) {
    json e = {
        {"receipt_id", event.receipt_id},
        {"purpose", event.purpose},
        {"action", event.action == consent::ConsentAction::kWithdrawn ? "withdrawn" : "given"},
        {"notice_version", event.notice_version},
        {"language", event.language},
        {"lawful_basis", consent::LawfulBasisName(event.lawful_basis)},
        {"channel", event.channel},
        {"occur_time", Rfc3339Us(absl::ToUnixMicros(event.occurred_at))},
        {"record_time", Rfc3339Us(absl::ToUnixMicros(event.recorded_at))}};
    if (!event.reason.empty()) e["reason"] = event.reason;
    events.push_back(std::move(e));
  }

  const std::vector<std::string> others = rows::OtherRequestsOf(txn, tenant, request_id, keys);
  json requests = json::array();
  for (const auto& id : others) {
    std::optional<PrivacyRequest> other = rows::Load(txn, tenant, id);
    if (!other.has_value()) continue;
    json r = {{"name", RequestName(id)},
              {"type", RequestTypeName(other->type)},
              {"state", RequestStateName(other->state)},
              {"receive_time", Rfc3339Us(absl::ToUnixMicros(other->received_at))}};
    if (other->closed_at.has_value()) {
      r["close_time"] = Rfc3339Us(absl::ToUnixMicros(*other->closed_at));
    }
    requests.push_back(std::move(r));
  }
  if (count != nullptr) *count = static_cast<int64_t>(events.size() + requests.size());
  json out = {{"consent_events", std::move(events)}, {"requests", std::move(requests)}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace dsar::privacy_requests
