// Subject identifiers of a privacy request: validation, normalisation and the
// keyed HMACs stored for duplicate detection.
//
// E-mail addresses are compared case-insensitively (trimmed, lower-cased);
// phone numbers must be E.164 ("+" and 7-15 digits); customer ids are opaque
// (1-128 printable characters). The key of an identifier is
// SubjectKeyer::Key(tenant, "<type>:<normalised value>"), so an e-mail and a
// customer id with the same text never collide. Stateless; thread-safe.
#ifndef DSAR_LIB_REQUESTS_IDENTIFIERS_H_
#define DSAR_LIB_REQUESTS_IDENTIFIERS_H_

#include <string>
#include <vector>

#include "lib/core/errors.h"
#include "lib/requests/request.h"

namespace dsar::consent {
class SubjectKeyer;
}

namespace dsar::requests {

// Checks and normalises `ids` in place; adds field violations named
// "identifiers[i].value" / "identifiers[i].type" / "identifiers" to `errors`.
void NormaliseIdentifiers(std::vector<SubjectIdentifier>& ids, FieldErrors& errors);

// "email", "customer_id", "phone".
const char* IdentifierTypeName(connector::IdentifierType type);

// 32-byte keys, one per identifier, in order.
std::vector<std::string> SubjectKeys(const consent::SubjectKeyer& keyer, absl::string_view tenant,
                                     const std::vector<SubjectIdentifier>& ids);

}  // namespace dsar::requests

#endif  // DSAR_LIB_REQUESTS_IDENTIFIERS_H_
