#include "lib/requests/own_records.h"

#include "lib/consent/event_chains.h"

namespace dsar::requests {

int64_t AnonymiseConsentHistory(store::WriteTxn& txn, consent::ConsentStateIndex* index,
                                absl::string_view tenant, const std::vector<std::string>& keys) {
  int64_t changed = 0;
  for (const auto& key : keys) changed += consent::AnonymiseSubjectEvents(txn, index, tenant, key);
  return changed;
}

}  // namespace dsar::requests
