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
// A consent withdrawal reaches every connector declaring the purpose within
// 72 hours. Not extendable.
inline constexpr char kConsentWithdrawalPropagation[] = "consent.withdrawal_propagation";
// A connector task was dead-lettered: due at once (its "due" alert fires when
// the task dies), then overdue reminders until the task is retried and
// finishes. Resource "connector_tasks/<task_id>".
inline constexpr char kConnectorTaskDead[] = "connector.task_dead";

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_KINDS_H_
