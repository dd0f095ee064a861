// Keyed start-up step of the requests module: privacy_request_subjects
// re-keyed to the typed scheme (SubjectKeyer::SubjectKey), from each
// request's sealed identifiers while it still holds them.
//
// A request whose sealed identifiers were destroyed (completed access
// requests, finished erasures) keeps its scheme-1 rows: they can never match
// a typed key, so such older closed requests cannot be found by identifier
// (ListPrivacyRequests) nor be taken as duplicates; nothing else reads them.
// One write transaction, marked in subject_key_schemes ('privacy_requests'),
// so it runs once; see lib/consent/subject_rekey.h.
#ifndef DSAR_LIB_PRIVACY_REQUESTS_REKEY_H_
#define DSAR_LIB_PRIVACY_REQUESTS_REKEY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "lib/privacy_requests/request_env.h"

namespace dsar::privacy_requests {

// How many requests had their keys rewritten.
absl::StatusOr<int64_t> RekeyRequestSubjects(RequestEnv& env);

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_REKEY_H_
