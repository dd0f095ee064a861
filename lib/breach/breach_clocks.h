// Breach clocks beyond the processor's own: each affected controller's
// Art. 33(1) clock towards the supervisory authority
// (deadline::kBreachAuthorityNotification) and, for a high-risk breach, its
// Art. 34 clock towards the data subjects
// (deadline::kBreachSubjectCommunication). SyncTenantClocks starts, closes and
// re-opens them inside the caller's write transaction whenever what they
// depend on changes (report, update, added tenant, notification), so a clock
// exists exactly when the change that causes it commits.
//
// Authority clock: starts at the controller's awareness — the breach's
// aware_time when the controller reported it itself; for a breach its
// processor reported, when the processor notified it (its first CONTROLLER
// notification), or the processor's own awareness with
// `authority_from_processor_awareness` (the stricter reading). Met by the
// first SUPERVISORY_AUTHORITY notification; closed as exempt (Art. 33(1)) when
// the risk is assessed as none (the assessment's rationale is the recorded
// reason); re-opened from its original start if the risk is raised again.
//
// Subject clock: starts when the risk is assessed HIGH_RISK (due
// `subject_communication` later, default 72 hours); met by the first
// DATA_SUBJECTS notification; closed as exempt by an Art. 34(3)(a)/(b)
// decision with its reason; cancelled when the risk is lowered, and started
// afresh if it is raised to high again.
//
// Plain functions; thread-safe as long as each call has its own transaction.
#ifndef DSAR_LIB_BREACH_BREACH_CLOCKS_H_
#define DSAR_LIB_BREACH_BREACH_CLOCKS_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/breach/breach.h"
#include "lib/store/txn.h"

namespace dsar::deadline {
class Deadlines;
}

namespace dsar::breach {

// One tenant's choices for its breach clocks (config TenantConfig.breach_*).
struct TenantClockOptions {
  absl::Duration subject_communication = absl::Hours(72);
  bool authority_from_processor_awareness = false;
};

struct BreachClockOptions {
  TenantClockOptions defaults;
  absl::flat_hash_map<std::string, TenantClockOptions> tenants;

  const TenantClockOptions& For(const std::string& tenant) const {
    auto it = tenants.find(tenant);
    return it == tenants.end() ? defaults : it->second;
  }
};

// Brings `tenant`'s authority and subject clocks in line with `breach` (its
// current risk, Art. 34 decision and who reported it) and the tenant's
// notifications at `now`, and writes the tenant's clock columns when they
// changed. Errors from the deadline engine are returned (the caller's
// transaction then rolls back).
absl::Status SyncTenantClocks(store::WriteTxn& txn, const deadline::Deadlines& deadlines,
                              const TenantClockOptions& options, const Breach& breach,
                              AffectedTenant& tenant, absl::Time now);

// Completes the tenant's clock for `recipient` (the processor's towards the
// controller, the authority's or the data subjects') at `notified_at`, the
// time the first notification was made (not when it was recorded), and never
// before the clock started: an open clock only.
absl::Status CompleteTenantClock(store::WriteTxn& txn, const deadline::Deadlines& deadlines,
                                 const Breach& breach, const AffectedTenant& tenant,
                                 Recipient recipient, absl::Time notified_at);

}  // namespace dsar::breach

#endif  // DSAR_LIB_BREACH_BREACH_CLOCKS_H_
