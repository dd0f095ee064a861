// Backend: the data of one reference system (booking or CRM) in its own SQLite
// database, and the connector operations over it.
//
// Storage is dsar's own store::Store (WAL, fsync'd group commit) with the
// backend's migrations. Erasure and consent changes are idempotent by task id:
// the first call's response is stored in `processed_tasks` in the same
// transaction as the change and returned (marked replayed) on every repeat, so
// a dsard that retries after a crash never doubles an erasure's counts.
// Thread-safe (the Store serialises writes).
#ifndef DSAR_TOOLS_REFBACKEND_BACKEND_H_
#define DSAR_TOOLS_REFBACKEND_BACKEND_H_

#include <SQLiteCpp/Statement.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dsar/connector/v1/connector.pb.h"
#include "lib/core/clock.h"
#include "lib/store/store.h"

namespace dsar::refbackend {

enum class Kind { kBooking, kCrm };

struct BackendOptions {
  Kind kind = Kind::kBooking;
  std::string db_path;
  uint64_t seed = 1;
  int people = 100;
  // Erasures answer IN_PROGRESS until this long after their first call
  // (an asynchronous backend). Zero: answer DONE at once.
  absl::Duration async_erase = absl::ZeroDuration();
};

// Where an export stream stands: which matched person, which category, and
// the last row id sent in that category.
struct ExportCursor {
  std::vector<int64_t> person_ids;
  // Every identifier of the matched persons; sent with the first batch.
  std::vector<connector::v1::SubjectIdentifier> resolved;
  size_t person = 0;
  size_t category = 0;
  int64_t last_id = 0;
  bool done() const { return person >= person_ids.size(); }
};

class Backend {
 public:
  // Opens (creating and seeding on first use) the database. Seeding happens
  // once; a restarted backend keeps its data, erasures included.
  static absl::StatusOr<std::unique_ptr<Backend>> Open(const BackendOptions& options, Clock* clock);
  virtual ~Backend() = default;

  virtual connector::v1::DescribeResponse Describe() const = 0;
  // INVALID_ARGUMENT when the identity has no usable identifier.
  absl::StatusOr<ExportCursor> StartExport(const connector::v1::SubjectIdentity& subject);
  // Up to `max_records` records from `cursor`, advancing it.
  absl::StatusOr<std::vector<connector::v1::SubjectRecord>> NextExportBatch(ExportCursor& cursor,
                                                                            int max_records);
  absl::StatusOr<connector::v1::EraseSubjectDataResponse> Erase(
      const connector::v1::EraseSubjectDataRequest& request);
  absl::StatusOr<connector::v1::ApplyConsentChangeResponse> ApplyConsent(
      const connector::v1::ApplyConsentChangeRequest& request);
  absl::StatusOr<connector::v1::ListEndedRelationshipsResponse> ListEnded(
      const connector::v1::ListEndedRelationshipsRequest& request);

  store::Store& store() { return *store_; }

 protected:
  // One exportable category: its name and a query taking (person id, last id,
  // limit) whose first column is the row id.
  struct Category {
    const char* name;
    const char* table;
    const char* sql;
  };

  Backend(BackendOptions options, Clock* clock) : options_(std::move(options)), clock_(clock) {}

  using PrepareFn = absl::FunctionRef<SQLite::Statement&(absl::string_view)>;

  // The ids in PeopleTable() matching any identifier of `subject`, ascending.
  std::vector<int64_t> FindSubject(PrepareFn prepare,
                                   const connector::v1::SubjectIdentity& subject) const;
  // The e-mail, customer id and phone of persons `ids` (each once): the
  // identifiers under which this system knows them.
  std::vector<connector::v1::SubjectIdentifier> IdentifiersOf(
      PrepareFn prepare, const std::vector<int64_t>& ids) const;

  virtual const std::vector<store::Migration>& Migrations() const = 0;
  virtual absl::Status Seed(store::WriteTxn& txn) = 0;
  virtual const std::vector<Category>& Categories() const = 0;
  // Table of people (or contacts) with columns id, email, customer_id, phone,
  // ended_at_us.
  virtual const char* PeopleTable() const = 0;
  // Erases the given persons inside `txn`, filling counts and kept records.
  virtual absl::Status EraseIn(store::WriteTxn& txn, const std::vector<int64_t>& ids,
                               connector::v1::EraseSubjectDataResponse& out) = 0;
  // Applies a consent change inside `txn`; returns affected records.
  virtual absl::StatusOr<int64_t> ConsentIn(store::WriteTxn& txn, const std::vector<int64_t>& ids,
                                            const std::string& purpose, bool given,
                                            int64_t now_us) = 0;

  // Helpers for EraseIn / ConsentIn.
  // Reports every record of person `id` as kept under legal hold.
  void KeepUnderLegalHold(store::WriteTxn& txn, int64_t id,
                          connector::v1::EraseSubjectDataResponse& out) const;
  // Runs `sql` with the person's id as its only parameter; rows changed.
  static int64_t ExecForPerson(store::WriteTxn& txn, const char* sql, int64_t id);
  // Sets the consent row (owner_column = person id, purpose) to `given`,
  // unless it holds a change at or after `now_us` (the change's time);
  // returns 1 when it changed, else 0.
  static int64_t UpsertConsent(store::WriteTxn& txn, const char* owner_column, int64_t id,
                               const std::string& purpose, bool given, int64_t now_us);

  const BackendOptions options_;
  Clock* const clock_;
  std::unique_ptr<store::Store> store_;
};

// Identifier values of `subject` by type.
struct IdentifierSets {
  std::vector<std::string> emails, customer_ids, phones;
  bool empty() const { return emails.empty() && customer_ids.empty() && phones.empty(); }
};
IdentifierSets SplitIdentifiers(const connector::v1::SubjectIdentity& subject);

// Tables every kind has: meta (seeding marker) and processed_tasks.
const char* CommonSchema();

std::unique_ptr<Backend> NewBookingBackend(BackendOptions options, Clock* clock);
std::unique_ptr<Backend> NewCrmBackend(BackendOptions options, Clock* clock);

}  // namespace dsar::refbackend

#endif  // DSAR_TOOLS_REFBACKEND_BACKEND_H_
