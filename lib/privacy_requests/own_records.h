// dsard's own records about a person, anonymised when their erasure
// completes: the consent history (consent_events, whose latest rows are the
// current states) keyed by SubjectKeyer::SubjectKey of a typed identifier.
// Every identifier of the person is tried: the erasure's own and those the
// connectors resolved (an index lookup per key, no scan); rows found get a
// fresh random key each, which keeps consent statistics (counts per purpose,
// notice version, time) and unlinks them from the person and from each other
// (consent::AnonymiseSubjectEvents).
#ifndef DSAR_LIB_PRIVACY_REQUESTS_OWN_RECORDS_H_
#define DSAR_LIB_PRIVACY_REQUESTS_OWN_RECORDS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/privacy_requests/request.h"
#include "lib/store/txn.h"

namespace dsar::consent {
class ConsentStateIndex;
class SubjectKeyer;
}  // namespace dsar::consent

namespace dsar::privacy_requests {

// Returns how many consent events were anonymised under any of `keys`
// (SubjectKeyer::SubjectKey of each of the person's identifiers). The
// subject's entries leave `index` (may be null) once the write commits.
int64_t AnonymiseConsentHistory(store::WriteTxn& txn, consent::ConsentStateIndex* index,
                                absl::string_view tenant, const std::vector<std::string>& keys);

// What an erasure did to dsard's own records of the person.
struct OwnRecordsErased {
  int64_t consent_events = 0;
  std::vector<std::string> exports;  // earlier requests whose bundles were destroyed
};

// The dsard side of an erasure's identity resolution, inside its
// transaction: the person is `keys` (the request's and those the systems
// resolved); consent events under any of them are anonymised, and the
// unexpired export bundles of the person's other requests are destroyed
// (state 'erased', wrapped key deleted, audited as dsard/requests.EraseExport;
// the caller removes their files once the transaction commits). Index
// lookups only: per key the consent chains and privacy_request_subjects'
// primary key.
absl::StatusOr<OwnRecordsErased> EraseOwnRecords(
    store::WriteTxn& txn, consent::ConsentStateIndex* index, absl::string_view tenant,
    absl::string_view request_id, const std::vector<std::string>& keys, absl::Time now);

// dsard's own records of the person for their access export, as a JSON
// object: {"consent_events": [...], "requests": [...]}: the consent events
// keyed under any of `keys` (the request's and those the systems resolved;
// purpose, action, notice version, language, lawful basis, channel, times),
// newest first, and the person's other requests (id, type, state, received
// and closed times). Index lookups only. No identifier values (dsard holds
// none in clear).
std::string OwnRecordsJson(store::ReadTxn& txn, absl::string_view tenant,
                           absl::string_view request_id, const std::vector<std::string>& keys,
                           int64_t* count);

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_OWN_RECORDS_H_
