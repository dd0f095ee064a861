// Subject identifiers of a privacy request: validation, normalisation
// (lib/core/subject_identifier.h) and their keyed HMACs
// (SubjectKeyer::SubjectKey), stored for duplicate detection and to find a
// person's requests. Stateless; thread-safe.
#ifndef DSAR_LIB_PRIVACY_REQUESTS_IDENTIFIERS_H_
#define DSAR_LIB_PRIVACY_REQUESTS_IDENTIFIERS_H_

#include <string>
#include <vector>

#include "lib/core/errors.h"
#include "lib/core/subject_identifier.h"
#include "lib/privacy_requests/request.h"

namespace dsar::consent {
class SubjectKeyer;
}

namespace dsar::privacy_requests {

// Checks and normalises `ids` in place; adds field violations named
// "identifiers[i].value" / "identifiers[i].type" / "identifiers" to `errors`.
void NormaliseIdentifiers(std::vector<SubjectIdentifier>& ids, FieldErrors& errors);

// 32-byte keys, one per identifier, in order.
std::vector<std::string> SubjectKeys(const consent::SubjectKeyer& keyer, absl::string_view tenant,
                                     const std::vector<SubjectIdentifier>& ids);

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_IDENTIFIERS_H_
