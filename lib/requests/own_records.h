// dsard's own records about a person, anonymised when their erasure
// completes: the consent history (consent_events, whose latest rows are the current states) keyed by
// SubjectKeyer::Key(tenant, subject id). The subject id a service used for
// consent is its own identifier of the person, so each identifier of the
// erasure (as normalised by the requests module) is tried; rows found get a
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
}

namespace dsar::requests {

// Returns how many consent rows (events and states) were anonymised. The
// subject's entries leave `index` (may be null) once the write commits.
int64_t AnonymiseConsentHistory(store::WriteTxn& txn, const consent::SubjectKeyer& keyer,
                                consent::ConsentStateIndex* index, absl::string_view tenant,
                                const std::vector<SubjectIdentifier>& subject);

}  // namespace dsar::requests

#endif  // DSAR_LIB_REQUESTS_OWN_RECORDS_H_
