// Deadline kinds: the obligations dsar tracks, as stable string constants.
//
// Other modules pass one of these to Deadlines::Schedule. The rule behind each
// (how long, whether it may be extended) lives in DefaultKindRules()
// (deadlines.h); the strings are stored in the database and appear in alerts,
// so they never change once shipped.
#ifndef DSAR_LIB_DEADLINE_KINDS_H_
#define DSAR_LIB_DEADLINE_KINDS_H_

namespace dsar::deadline {

// The processor assists the controller with an access, portability or erasure
// request within 72 hours (the source policies). Extendable with a reason.
inline constexpr char kRequestProcessor[] = "request.processor";
// GDPR Art. 12(3): one month from receipt, extendable by two further months
// with a reason given to the subject.
inline constexpr char kRequestGdpr[] = "request.gdpr";
// GDPR Art. 33(1)/(2): notify the controller within 72 hours of becoming
// aware of a breach. Not extendable (a late notification states its reasons).
inline constexpr char kBreachControllerNotification[] = "breach.controller_notification";
// GDPR Art. 33(1): each affected controller notifies the supervisory
// authority within 72 hours of becoming aware of a breach (its own awareness
// when it reported the breach; when its processor notified it otherwise).
// Met by the first SUPERVISORY_AUTHORITY notification, or closed by assessing
// the risk as none with its reason. Not extendable. Resource "breaches/{id}".
inline constexpr char kBreachAuthorityNotification[] = "breach.authority_notification";
// GDPR Art. 34: a high-risk breach is communicated to the data subjects
// without undue delay (72 hours from the high-risk assessment unless the
// tenant configures otherwise). Met by the first DATA_SUBJECTS notification or
// an Art. 34(3)(a)/(b) exemption with its reason. Resource "breaches/{id}".
inline constexpr char kBreachSubjectCommunication[] = "breach.subject_communication";
// A consent withdrawal reaches every connector declaring the purpose within
// 72 hours. Not extendable.
inline constexpr char kConsentWithdrawalPropagation[] = "consent.withdrawal_propagation";
// A connector task was dead-lettered: due at once (its "due" alert fires when
// the task dies), then overdue reminders until the task is retried and
// finishes. Resource "connectorTasks/<task_id>".
inline constexpr char kConnectorTaskDead[] = "connector.task_dead";
// A retention scan found more people to erase than its cap and held every
// erasure for review: due at once (the "due" alert is the warning), then
// overdue reminders until a later scan finds none of the held erasures left
// waiting. Resource "retention/held".
inline constexpr char kRetentionReview[] = "retention.review";

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_KINDS_H_
