// The breach register's SQL: rows of breaches, breach_versions, breach_tenants
// and breach_notifications (migration 6), and views assembled from them for a
// reader's scope. Used only by BreachRegister; no rules here beyond scoping.
//
// Scoping: a breach is visible to a reader of one tenant only when that tenant
// is among its affected tenants (breach_tenants), and then only that tenant's
// row and notifications are read; a reader of all tenants sees everything.
//
// Functions taking a Txn template parameter work on store::ReadTxn and
// store::WriteTxn. SQLite exceptions propagate to the Store.
#ifndef DSAR_LIB_BREACH_BREACH_ROWS_H_
#define DSAR_LIB_BREACH_BREACH_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/breach/breach.h"
#include "lib/store/txn.h"

namespace dsar::breach::internal {

// Whose view: one tenant's, or every tenant's.
struct Scope {
  std::string tenant;
  bool all_tenants = false;
  // The tenant filter of scoped queries: empty for every tenant.
  const std::string& filter() const {
    static const std::string kAll;
    return all_tenants ? kAll : tenant;
  }
};

std::string DetailsToJson(const BreachDetails& d);
// INTERNAL when the stored JSON is unreadable.
absl::StatusOr<BreachDetails> DetailsFromJson(absl::string_view json);

// The breaches row (no details); nullopt when absent or outside `scope`.
template <typename Txn>
std::optional<Breach> LoadBreachRow(Txn& txn, absl::string_view breach_id, const Scope& scope);

// Affected tenants in `scope`, by tenant id. `overdue` is filled at `now`.
template <typename Txn>
std::vector<AffectedTenant> LoadAffected(Txn& txn, const Breach& row, const Scope& scope,
                                         absl::Time now);

// Versions 1..up_to, oldest first.
template <typename Txn>
absl::StatusOr<std::vector<BreachVersion>> LoadVersions(Txn& txn, const Breach& row, int up_to);
template <typename Txn>
absl::StatusOr<BreachVersion> LoadVersion(Txn& txn, const Breach& row, int version);

// Notifications in `scope`, in the order recorded.
template <typename Txn>
std::vector<Notification> LoadNotifications(Txn& txn, absl::string_view breach_id,
                                            const Scope& scope);
template <typename Txn>
std::optional<Notification> LoadNotification(Txn& txn, absl::string_view breach_id,
                                             absl::string_view notification_id, const Scope& scope);
int64_t CountNotifications(store::WriteTxn& txn, absl::string_view breach_id);

struct ViewOptions {
  int as_of_version = 0;  // 0: current
  bool full = false;      // with versions and notifications
};

// A breach as `scope` may see it; NOT_FOUND when absent or not visible.
template <typename Txn>
absl::StatusOr<Breach> LoadView(Txn& txn, absl::string_view breach_id, const Scope& scope,
                                const ViewOptions& options, absl::Time now);

struct ListFilter {
  BreachState state = BreachState::kUnspecified;  // unspecified: any
  std::string tenant;                             // affected tenant; empty: any
  bool overdue_only = false;
};

// (seq, breach_id) of breaches with seq < before_seq, newest first, at most
// `limit`. `filter.tenant` must already be limited to the reader's scope.
std::vector<std::pair<int64_t, std::string>> ListBreachIds(store::ReadTxn& txn,
                                                           const ListFilter& filter,
                                                           int64_t before_seq, int limit,
                                                           absl::Time now);

// Writes. InsertBreach returns the new row's seq.
int64_t InsertBreach(store::WriteTxn& txn, const Breach& b);
void InsertVersion(store::WriteTxn& txn, const Breach& b, const BreachVersion& v);
void InsertAffected(store::WriteTxn& txn, const Breach& b, int64_t breach_seq,
                    const AffectedTenant& t, absl::Time now);
// The tenant's authority and subject clocks (columns of migration 15).
void UpdateTenantClocks(store::WriteTxn& txn, absl::string_view breach_id, const AffectedTenant& t);
// Current version, title, risk, state, update and close fields.
void UpdateBreachRow(store::WriteTxn& txn, const Breach& b);
int64_t BreachSeq(store::WriteTxn& txn, absl::string_view breach_id);
void InsertNotification(store::WriteTxn& txn, const Notification& n);
// Sets the tenant's first-notified time of `recipient` when unset.
void SetFirstNotified(store::WriteTxn& txn, absl::string_view tenant, absl::string_view breach_id,
                      Recipient recipient, absl::Time at);

}  // namespace dsar::breach::internal

#endif  // DSAR_LIB_BREACH_BREACH_ROWS_H_
