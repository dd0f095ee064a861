#include "lib/privacy_requests/identifiers.h"

#include "absl/strings/str_cat.h"
#include "lib/consent/subject_keyer.h"

namespace dsar::privacy_requests {

void NormaliseIdentifiers(std::vector<SubjectIdentifier>& ids, FieldErrors& errors) {
  if (ids.empty()) {
    errors.Add("identifiers", "at least one identifier (e-mail, customer id or phone)");
    return;
  }
  bool seen[3] = {false, false, false};
  for (size_t i = 0; i < ids.size(); ++i) {
    SubjectIdentifier& id = ids[i];
    const std::string field = absl::StrCat("identifiers[", i, "]");
    const int t = static_cast<int>(id.type);
    if (t < 0 || t > 2) {
      errors.Add(field + ".type", "must be EMAIL, CUSTOMER_ID or PHONE");
      continue;
    }
    if (seen[t]) {
      errors.Add(field + ".type", "at most one identifier of each type");
      continue;
    }
    seen[t] = true;
    NormaliseIdentifier(id, field, errors);
  }
}

std::vector<std::string> SubjectKeys(const consent::SubjectKeyer& keyer, absl::string_view tenant,
                                     const std::vector<SubjectIdentifier>& ids) {
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(keyer.SubjectKey(tenant, id));
  return keys;
}

}  // namespace dsar::privacy_requests
