// dsard's own records about a person, anonymised when their erasure
// completes: the consent history (consent_events, whose latest rows are the
// current states) keyed by SubjectKeyer::SubjectKey of a typed identifier.
// Every identifier of the person is tried: the erasure's own and those the
// connectors resolved (an index lookup per key, no scan); rows found get a
// fresh random key each, which keeps consent statistics (counts per purpose,
// notice version, time) and unlinks them from the person and from each other
// (consent::AnonymiseSubjectEvents).
#ifndef DSAR_LIB_REQUESTS_OWN_RECORDS_H_
#define DSAR_LIB_REQUESTS_OWN_RECORDS_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "lib/requests/request.h"
#include "lib/store/txn.h"

namespace dsar::consent {
class ConsentStateIndex;
class SubjectKeyer;
}  // namespace dsar::consent

namespace dsar::requests {

// Returns how many consent events were anonymised under any of `keys`
// (SubjectKeyer::SubjectKey of each of the person's identifiers). The
// subject's entries leave `index` (may be null) once the write commits.
int64_t AnonymiseConsentHistory(store::WriteTxn& txn, consent::ConsentStateIndex* index,
                                absl::string_view tenant, const std::vector<std::string>& keys);

}  // namespace dsar::requests

#endif  // DSAR_LIB_REQUESTS_OWN_RECORDS_H_
