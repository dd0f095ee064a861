// Breach register values: what a personal-data breach holds (GDPR Art. 33(3)
// and (5), Art. 34), its versions, affected tenants and notifications, and the
// rules that follow from them alone (which notifications a tenant needs).
// Plain values without I/O; enum values match the dsar.v1 protos.
#ifndef DSAR_LIB_BREACH_BREACH_H_
#define DSAR_LIB_BREACH_BREACH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dsar::breach {

// The collection of breaches: "breaches/{breach_id}", and a breach's
// notifications "breaches/{breach_id}/notifications/{notification_id}".
inline constexpr absl::string_view kBreachesCollection = "breaches/";
inline constexpr absl::string_view kNotificationsCollection = "/notifications/";

enum class BreachState { kUnspecified = 0, kOpen = 1, kClosed = 2 };
enum class BreachType { kUnspecified = 0, kConfidentiality = 1, kIntegrity = 2, kAvailability = 3 };
enum class RiskAssessment { kUnspecified = 0, kNoRisk = 1, kRisk = 2, kHighRisk = 3 };
// Art. 34: inform the data subjects, or why not.
enum class SubjectDecision {
  kUnspecified = 0,
  kNotify = 1,
  kNotRequired = 2,          // the risk is not high
  kExemptProtected = 3,      // Art. 34(3)(a)
  kExemptMitigated = 4,      // Art. 34(3)(b)
  kPublicCommunication = 5,  // Art. 34(3)(c): a public communication instead
};
enum class Recipient {
  kUnspecified = 0,
  kController = 1,
  kSupervisoryAuthority = 2,
  kDataSubjects = 3,
};

// These values are stored as integers (breaches.state and current_risk,
// breach_notifications.recipient, the JSON of breach_versions) and match the
// dsar.v1 enums: they never change.
static_assert(static_cast<int>(BreachState::kOpen) == 1);
static_assert(static_cast<int>(BreachState::kClosed) == 2);
static_assert(static_cast<int>(BreachType::kConfidentiality) == 1);
static_assert(static_cast<int>(BreachType::kIntegrity) == 2);
static_assert(static_cast<int>(BreachType::kAvailability) == 3);
static_assert(static_cast<int>(RiskAssessment::kNoRisk) == 1);
static_assert(static_cast<int>(RiskAssessment::kRisk) == 2);
static_assert(static_cast<int>(RiskAssessment::kHighRisk) == 3);
static_assert(static_cast<int>(SubjectDecision::kNotify) == 1);
static_assert(static_cast<int>(SubjectDecision::kNotRequired) == 2);
static_assert(static_cast<int>(SubjectDecision::kExemptProtected) == 3);
static_assert(static_cast<int>(SubjectDecision::kExemptMitigated) == 4);
static_assert(static_cast<int>(SubjectDecision::kPublicCommunication) == 5);
static_assert(static_cast<int>(Recipient::kController) == 1);
static_assert(static_cast<int>(Recipient::kSupervisoryAuthority) == 2);
static_assert(static_cast<int>(Recipient::kDataSubjects) == 3);

// Stable lower-case names, as stored in reports: "open", "confidentiality",
// "high_risk", "public_communication", "supervisory_authority"...
const char* BreachStateName(BreachState s);
const char* BreachTypeName(BreachType t);
const char* RiskAssessmentName(RiskAssessment r);
const char* SubjectDecisionName(SubjectDecision d);
const char* RecipientName(Recipient r);
// True for the values each enum declares; false for any other integer (an
// unknown wire value or a corrupt stored one), which validation rejects.
bool IsDefined(BreachState v);
bool IsDefined(BreachType v);
bool IsDefined(RiskAssessment v);
bool IsDefined(SubjectDecision v);
bool IsDefined(Recipient v);

// What is known about a breach at one version. Free text never holds personal
// data of data subjects (the callers' contract); contact_point names the
// organisation's contact.
struct BreachDetails {
  std::string title;
  std::string nature;
  std::vector<BreachType> types;
  std::optional<absl::Time> occurred_at;
  std::vector<std::string> subject_categories;
  std::optional<int64_t> approx_subject_count;
  std::vector<std::string> record_categories;
  std::optional<int64_t> approx_record_count;
  std::vector<std::string> affected_systems;
  std::string contact_point;
  std::string likely_consequences;
  std::string measures_taken;
  std::string circumstances;
  std::string effect;
  std::string corrective_actions;
  RiskAssessment risk = RiskAssessment::kUnspecified;
  std::string risk_rationale;
  SubjectDecision subject_decision = SubjectDecision::kUnspecified;
  std::string subject_decision_reason;
};

// Field names of BreachDetails as in dsar.v1.BreachDetails, in declaration
// order: the paths of an update mask and the names in changed_fields. All
// four functions derive from ForEachDetailField (breach_details.h).
const std::vector<std::string>& DetailFieldNames();
bool IsDetailField(absl::string_view name);
// Copies one named field (IsDetailField) from `from` into `to`.
void CopyDetailField(absl::string_view name, const BreachDetails& from, BreachDetails* to);
// Names of the fields of `d` that hold a value (non-empty, set, specified).
std::vector<std::string> SetDetailFields(const BreachDetails& d);

struct BreachVersion {
  int version = 0;
  BreachDetails details;
  std::vector<std::string> changed_fields;
  std::string change_note;
  std::string author;
  absl::Time recorded_at;
};

// One of a tenant's clocks towards the authority (Art. 33(1)) or the data
// subjects (Art. 34). Unset times: not started (yet).
struct TenantClock {
  std::optional<absl::Time> start_at;
  std::optional<absl::Time> due_at;
  std::string deadline_id;              // empty for breaches reported before these clocks existed
  std::optional<absl::Time> exempt_at;  // closed by an exemption instead of a notification
};

// Where a tenant clock stands, as shown to readers.
enum class ClockState {
  kUnspecified = 0,
  kNotStarted = 1,   // e.g. the processor has not notified the controller yet
  kOpen = 2,         // running: the notification is due
  kMet = 3,          // the notification was made
  kExempt = 4,       // closed by an exemption with its reason
  kNotRequired = 5,  // no longer required (the risk was lowered)
};
const char* ClockStateName(ClockState s);  // "not_started", "open", "met"...

// One affected controller and the status of its notifications. Times of
// notifications are the first of each recipient.
struct AffectedTenant {
  std::string tenant;
  absl::Time aware_at;      // the controller-notification clock starts here
  absl::Time due_at;        // 72 hours later
  std::string deadline_id;  // empty when the controller reported the breach itself
  std::optional<absl::Time> controller_notified_at;
  std::optional<absl::Time> authority_notified_at;
  std::optional<absl::Time> subjects_notified_at;
  TenantClock authority;  // Art. 33(1)
  TenantClock subjects;   // Art. 34
  bool overdue = false;   // filled in by readers at their `now`

  std::optional<absl::Time> NotifiedAt(Recipient r) const;
};

// The states of a tenant's authority and subject clocks, given the breach's
// current risk assessment.
ClockState AuthorityClockState(const AffectedTenant& t);
ClockState SubjectClockState(const AffectedTenant& t, RiskAssessment risk);

struct Notification {
  std::string notification_id;
  std::string breach_id;
  std::string tenant;
  Recipient recipient = Recipient::kUnspecified;
  absl::Time notified_at;
  std::string channel;
  std::string reference;
  int content_version = 0;
  std::string delay_reason;
  bool late = false;
  std::string recorded_by;
  absl::Time recorded_at;

  std::string name() const;  // "breaches/{breach_id}/notifications/{notification_id}"
};

struct Breach {
  std::string breach_id;
  // Tenant context the breach was reported in (the reporter's tenant, or the
  // tenant an all-tenants principal named); visibility follows the affected
  // tenants, not this.
  std::string owner_tenant;
  BreachState state = BreachState::kOpen;
  absl::Time aware_at;
  absl::Time reported_at;
  std::string reported_by;
  bool processor_reported = true;
  int version = 0;          // the version `details` is of
  int current_version = 0;  // the latest version
  BreachDetails details;
  absl::Time version_recorded_at;
  RiskAssessment current_risk = RiskAssessment::kUnspecified;
  std::vector<AffectedTenant> affected_tenants;  // those the reader may see
  bool notification_overdue = false;
  std::vector<Notification> notifications;  // those the reader may see; full views only
  std::vector<BreachVersion> versions;      // oldest first; full views only
  std::optional<absl::Time> closed_at;
  std::string closed_by;
  std::string close_note;

  std::string name() const { return absl::StrCat(kBreachesCollection, breach_id); }
};

// "breaches/{id}" -> id; empty when `name` is not a breach name.
std::string BreachIdFromName(absl::string_view name);

// The notifications each affected tenant needs before the breach may close:
// the controller when the processor reported the breach; the supervisory
// authority unless the risk was assessed as none (while unassessed it is
// assumed needed); the data subjects when the decision is to notify them or
// to communicate publicly.
std::vector<Recipient> RequiredRecipients(bool processor_reported, RiskAssessment risk,
                                          SubjectDecision decision);

// Whether a tenant's notifications are overdue at `now`: the breach is open
// and, past the due time of its clock, the controller notification
// (processor-reported), the authority notification (unless the risk was
// assessed as none) or the data-subject communication (high risk, no
// exemption) is missing.
bool NotificationOverdue(const Breach& breach, const AffectedTenant& tenant, absl::Time now);

}  // namespace dsar::breach

#endif  // DSAR_LIB_BREACH_BREACH_H_
