#include "lib/requests/own_records.h"

#include "lib/consent/event_chains.h"
#include "lib/consent/subject_keyer.h"

namespace dsar::requests {

int64_t AnonymiseConsentHistory(store::WriteTxn& txn, const consent::SubjectKeyer& keyer,
                                consent::ConsentStateIndex* index, absl::string_view tenant,
                                const std::vector<SubjectIdentifier>& subject) {
  int64_t changed = 0;
  for (const auto& id : subject) {
    changed += consent::AnonymiseSubjectEvents(txn, index, tenant, keyer.SubjectKey(tenant, id));
  }
  return changed;
}

}  // namespace dsar::requests
