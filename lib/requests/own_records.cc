#include "lib/requests/own_records.h"

#include "absl/strings/str_cat.h"
#include "lib/audit/audit_log.h"
#include "lib/consent/event_chains.h"
#include "lib/core/status_macros.h"
#include "lib/requests/request_rows.h"
#include "lib/requests/transitions.h"

namespace dsar::requests {

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

}  // namespace dsar::requests
