// BreachRegister: reports, documents and notifies personal-data breaches
// (GDPR Art. 33 and 34) with a 72-hour clock per affected controller.
//
// Ownership and visibility. A breach affects one or more tenants
// (controllers); dsar's operator is their processor. A principal of all
// tenants (CallContext::all_tenants) acts as the processor: it reports
// breaches affecting any configured tenants and sees and manages every breach
// whatever tenant its call names. A principal of one tenant sees only
// breaches affecting its tenant, and within them only its tenant's clock and
// notifications; it may report a breach of its own tenant only (the
// controller reporting its own breach: no controller notification is then
// needed, and it manages that breach), record its own notifications to the
// authority and the data subjects, and export its report. Changing a breach
// the processor reported needs a principal of all tenants (PERMISSION_DENIED
// otherwise). A breach outside the caller's view is NOT_FOUND.
//
// Clocks. For a processor-reported breach each affected tenant gets a
// deadline (deadline::kBreachControllerNotification, resource
// "breaches/{id}") scheduled in the report's transaction from the awareness
// time (or, for a tenant added later, from when it was added); the first
// controller notification completes it at the notification's time. Every
// affected tenant also gets its Art. 33(1) clock towards the authority and,
// for a high-risk breach, its Art. 34 clock towards the data subjects
// (breach_clocks.h), in the transaction that causes them. The first
// notification of a controller or of the authority made after its clock's due
// time needs a delay_reason (FAILED_PRECONDITION "DELAY_REASON" without).
//
// Every change is a new version (Art. 33(4)); versions are kept and returned
// in order. Mutations are idempotent by (tenant, request_id): a retry returns
// the breach as of the version the first call produced. Each mutation appends
// an audit event for every affected tenant (and the caller's), in its
// transaction; reads append one for the caller. Logs carry ids and counts only.
//
// Thread-safe. Every method answers through its callback: on the store's
// completion thread, or inline on a validation error.
#ifndef DSAR_LIB_BREACH_BREACH_REGISTER_H_
#define DSAR_LIB_BREACH_BREACH_REGISTER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/breach/breach.h"
#include "lib/breach/breach_clocks.h"
#include "lib/core/call_context.h"
#include "lib/core/clock.h"
#include "lib/core/errors.h"
#include "lib/store/store.h"

namespace dsar::deadline {
class Deadlines;
}

namespace dsar::breach {

struct ReportInput {
  std::optional<absl::Time> aware_at;  // required
  BreachDetails details;
  std::vector<std::string> affected_tenants;
};

struct UpdateInput {
  std::string name;  // "breaches/{id}"
  BreachDetails details;
  std::vector<std::string> update_mask;  // DetailFieldNames()
  std::vector<std::string> add_affected_tenants;
  std::string change_note;
};

struct NotificationInput {
  std::string name;
  std::string tenant;  // empty: the caller's
  Recipient recipient = Recipient::kUnspecified;
  std::optional<absl::Time> notified_at;  // default now
  std::string channel;
  std::string reference;
  int content_version = 0;  // 0: current
  std::string delay_reason;
};

struct CloseInput {
  std::string name;
  std::string close_note;
};

struct ListInput {
  BreachState state = BreachState::kUnspecified;
  std::string tenant;
  bool overdue_only = false;
  int page_size = 0;  // 0: 50
  std::string page_token;
};

struct BreachPage {
  std::vector<Breach> breaches;  // without versions and notifications
  std::string next_page_token;
};

enum class ReportFormat { kUnspecified = 0, kJson = 1, kMarkdown = 2 };

struct ExportInput {
  std::string name;
  ReportFormat format = ReportFormat::kUnspecified;
  std::string tenant;
};

struct RenderedReport {
  std::string content;
  std::string media_type;
  std::string file_name;
};

class BreachRegister {
 public:
  using BreachDone = absl::AnyInvocable<void(absl::StatusOr<Breach>)>;
  using NotificationDone = absl::AnyInvocable<void(absl::StatusOr<Notification>)>;
  using PageDone = absl::AnyInvocable<void(absl::StatusOr<BreachPage>)>;
  using ReportDone = absl::AnyInvocable<void(absl::StatusOr<RenderedReport>)>;

  // Pointers are not owned and must outlive the register. `tenants` are the
  // configured tenant ids an all-tenants principal may name; `clocks` their
  // choices for the authority and subject clocks.
  BreachRegister(store::Store* store, Clock* clock, const deadline::Deadlines* deadlines,
                 std::vector<std::string> tenants, BreachClockOptions clocks = {});

  // Errors: INVALID_ARGUMENT (BadRequest naming each field); PERMISSION_DENIED
  // (a tenant's principal naming another tenant).
  void Report(const CallContext& ctx, ReportInput input, BreachDone done);
  // Errors: INVALID_ARGUMENT; NOT_FOUND; PERMISSION_DENIED;
  // FAILED_PRECONDITION (closed, or too many versions).
  void Update(const CallContext& ctx, UpdateInput input, BreachDone done);
  // Errors: INVALID_ARGUMENT; NOT_FOUND; PERMISSION_DENIED;
  // FAILED_PRECONDITION (closed; "DELAY_REASON" for a late first
  // notification without a reason).
  void RecordNotification(const CallContext& ctx, NotificationInput input, NotificationDone done);
  // Errors: INVALID_ARGUMENT; NOT_FOUND; PERMISSION_DENIED;
  // FAILED_PRECONDITION listing everything missing (see CloseViolations).
  void Close(const CallContext& ctx, CloseInput input, BreachDone done);
  // A full view (versions and notifications). NOT_FOUND when not visible.
  void Get(const CallContext& ctx, std::string name, BreachDone done);
  // Errors: INVALID_ARGUMENT (page_size, page_token, state); PERMISSION_DENIED
  // (a tenant's principal filtering by another tenant).
  void List(const CallContext& ctx, ListInput input, PageDone done);
  // Errors: INVALID_ARGUMENT (format, or a tenant the breach does not
  // affect); NOT_FOUND; PERMISSION_DENIED.
  void Export(const CallContext& ctx, ExportInput input, ReportDone done);

 private:
  // The tenant a per-tenant call is about: `requested`, or the caller's when
  // empty. PERMISSION_DENIED when a tenant's principal names another tenant.
  absl::StatusOr<std::string> CallTenant(const CallContext& ctx,
                                         const std::string& requested) const;
  void CheckTenants(const CallContext& ctx, const std::vector<std::string>& tenants,
                    const char* field, FieldErrors& errors) const;
  // The breach as the caller may see it at `now`, with its whole history.
  absl::StatusOr<Breach> ReadFullView(const CallContext& ctx, const std::string& breach_id,
                                      absl::Time now) const;
  // Appends the read's audit event, then answers.
  template <typename T>
  void AuditRead(const CallContext& ctx, std::string resource, T result,
                 absl::AnyInvocable<void(absl::StatusOr<T>)> done);

  store::Store* const store_;
  Clock* const clock_;
  const deadline::Deadlines* const deadlines_;
  const absl::flat_hash_set<std::string> tenants_;
  const BreachClockOptions clocks_;
};

}  // namespace dsar::breach

#endif  // DSAR_LIB_BREACH_BREACH_REGISTER_H_
