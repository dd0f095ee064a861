#include "lib/requests/own_records.h"

#include <SQLiteCpp/Statement.h>

#include "lib/consent/consent_state_index.h"
#include "lib/consent/subject_keyer.h"

namespace dsar::requests {

int64_t AnonymiseConsentHistory(store::WriteTxn& txn, const consent::SubjectKeyer& keyer,
                                consent::ConsentStateIndex* index, absl::string_view tenant,
                                const std::vector<SubjectIdentifier>& subject) {
  int64_t changed = 0;
  SQLite::Statement& events = txn.Prepare(
      "UPDATE consent_events SET subject_key = randomblob(32) "
      "WHERE tenant_id = ? AND subject_key = ?");
  for (const auto& id : subject) {
    const std::string key = keyer.Key(tenant, id.value);
    events.reset();
    events.clearBindings();
    events.bind(1, std::string(tenant));
    events.bind(2, key.data(), static_cast<int>(key.size()));
    changed += events.exec();
    if (index != nullptr) {
      txn.AfterCommit([index, tenant = std::string(tenant), key] {
        index->EraseSubject(tenant, key);
      });
    }
  }
  return changed;
}

}  // namespace dsar::requests
