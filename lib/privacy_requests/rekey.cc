#include "lib/privacy_requests/rekey.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>

#include <string>
#include <vector>

#include "lib/connector/payload.h"
#include "lib/consent/subject_rekey.h"
#include "lib/core/log.h"
#include "lib/privacy_requests/identifiers.h"
#include "lib/privacy_requests/request_rows.h"

namespace dsar::privacy_requests {

absl::StatusOr<int64_t> RekeyRequestSubjects(RequestEnv& env) {
  int64_t rekeyed = 0, unsealable = 0;
  absl::Status s = env.store->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    rekeyed = unsealable = 0;
    if (consent::SubjectKeySchemeCurrent(txn, "privacy_requests")) return absl::OkStatus();
    struct Keyed {
      std::string tenant, id, sealed;
      int type;
      bool open;
    };
    std::vector<Keyed> requests;
    SQLite::Statement& q = txn.Prepare(
        "SELECT r.tenant_id, r.request_id, r.sealed_subject, r.type, max(s.open) "
        "FROM privacy_requests r JOIN privacy_request_subjects s "
        "ON s.tenant_id = r.tenant_id AND s.request_id = r.request_id "
        "WHERE r.sealed_subject IS NOT NULL GROUP BY r.tenant_id, r.request_id");
    while (q.executeStep()) {
      requests.push_back(Keyed{q.getColumn(0).getString(), q.getColumn(1).getString(),
                               q.getColumn(2).getString(), q.getColumn(3).getInt(),
                               q.getColumn(4).getInt() != 0});
    }
    q.reset();
    SQLite::Statement& remove =
        txn.Prepare("DELETE FROM privacy_request_subjects WHERE tenant_id = ? AND request_id = ?");
    for (Keyed& r : requests) {
      absl::StatusOr<connector::TaskPayload> payload =
          env.sealer->Open(r.sealed, RequestName(r.id));
      if (!payload.ok()) {
        ++unsealable;  // left as it was: never matches, as if destroyed
        continue;
      }
      const std::vector<std::string> keys = SubjectKeys(*env.keyer, r.tenant, payload->subject);
      for (auto& id : payload->subject) std::fill(id.value.begin(), id.value.end(), '\0');
      remove.reset();
      remove.bind(1, r.tenant);
      remove.bind(2, r.id);
      remove.exec();
      rows::InsertSubjectKeys(txn, r.tenant, r.id, static_cast<RequestType>(r.type), keys);
      if (!r.open) rows::CloseSubjectKeys(txn, r.tenant, r.id);
      ++rekeyed;
    }
    consent::MarkSubjectKeyScheme(txn, "privacy_requests", rekeyed);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (rekeyed > 0 || unsealable > 0) {
    log::Info("privacy_request_subject_keys_rekeyed",
              {{"requests", rekeyed}, {"unsealable", unsealable}});
  }
  return rekeyed;
}

}  // namespace dsar::privacy_requests
