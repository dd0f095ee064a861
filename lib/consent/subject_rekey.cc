#include "lib/consent/subject_rekey.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>

#include <string>
#include <vector>

#include "lib/consent/subject_keyer.h"
#include "lib/core/log.h"

namespace dsar::consent {

bool SubjectKeySchemeCurrent(store::WriteTxn& txn, absl::string_view part) {
  SQLite::Statement& q = txn.Prepare("SELECT scheme FROM subject_key_schemes WHERE part = ?");
  q.bind(1, std::string(part));
  const bool current = q.executeStep() && q.getColumn(0).getInt() >= kSubjectKeyScheme;
  q.reset();
  return current;
}

void MarkSubjectKeyScheme(store::WriteTxn& txn, absl::string_view part, int64_t rows) {
  SQLite::Statement& q = txn.Prepare(
      "INSERT INTO subject_key_schemes (part, scheme, rows_rekeyed) VALUES (?, ?, ?) "
      "ON CONFLICT (part) DO UPDATE SET scheme = excluded.scheme, "
      "rows_rekeyed = excluded.rows_rekeyed");
  q.bind(1, std::string(part));
  q.bind(2, kSubjectKeyScheme);
  q.bind(3, static_cast<int64_t>(rows));
  q.exec();
}

absl::StatusOr<int64_t> RekeyConsentSubjects(store::Store& store, const SubjectKeyer& keyer) {
  int64_t rekeyed = 0;
  const absl::Time started = absl::Now();
  absl::Status s = store.WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    rekeyed = 0;
    if (SubjectKeySchemeCurrent(txn, "consent")) return absl::OkStatus();
    // In seq ranges: no statement reads the table while another updates it.
    SQLite::Statement& read = txn.Prepare(
        "SELECT seq, tenant_id, subject_key FROM consent_events WHERE seq > ? ORDER BY seq "
        "LIMIT 4096");
    SQLite::Statement& update =
        txn.Prepare("UPDATE consent_events SET subject_key = ? WHERE seq = ?");
    struct Row {
      int64_t seq;
      std::string key;
    };
    std::vector<Row> rows;
    int64_t after = 0;
    for (;;) {
      rows.clear();
      read.reset();
      read.bind(1, after);
      while (read.executeStep()) {
        const SQLite::Column key = read.getColumn(2);
        rows.push_back(
            Row{read.getColumn(0).getInt64(),
                keyer.RekeyScheme1(read.getColumn(1).getText(), IdentifierType::kCustomerId,
                                   absl::string_view(static_cast<const char*>(key.getBlob()),
                                                     static_cast<size_t>(key.getBytes())))});
      }
      read.reset();
      if (rows.empty()) break;
      for (const Row& row : rows) {
        update.reset();
        update.bind(1, row.key.data(), static_cast<int>(row.key.size()));
        update.bind(2, row.seq);
        update.exec();
      }
      rekeyed += static_cast<int64_t>(rows.size());
      after = rows.back().seq;
    }
    MarkSubjectKeyScheme(txn, "consent", rekeyed);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (rekeyed > 0) {
    log::Info("consent_subject_keys_rekeyed",
              {{"events", rekeyed},
               {"as", "customer_id"},
               {"ms", absl::ToInt64Milliseconds(absl::Now() - started)}});
  }
  return rekeyed;
}

}  // namespace dsar::consent
