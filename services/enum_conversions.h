// Conversions between the domain enums of lib/ and the dsar.v1 proto enums,
// for the gRPC adapters (message conversions such as subject_proto.h stay
// beside their adapters).
//
// Each is an exhaustive switch, so they cannot drift silently: ToProto
// switches over the domain enum without a default (a new domain value without
// a case fails the build: services/ compiles with -Werror=switch), and
// enum_conversions_test walks every value of every proto enum through
// FromProto and back. A wire value a proto enum does not declare (proto3 keeps
// unknown values) becomes a domain value outside its enum, which the domain's
// validation rejects with the field's name, as it always has.
#ifndef DSAR_SERVICES_ENUM_CONVERSIONS_H_
#define DSAR_SERVICES_ENUM_CONVERSIONS_H_

#include "dsar/v1/breach.pb.h"
#include "dsar/v1/connector_admin.pb.h"
#include "dsar/v1/consent.pb.h"
#include "dsar/v1/deadline.pb.h"
#include "dsar/v1/privacy_request.pb.h"
#include "lib/breach/breach.h"
#include "lib/breach/breach_register.h"
#include "lib/connector/task.h"
#include "lib/consent/consent_ledger.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/levels.h"
#include "lib/privacy_requests/request.h"

namespace dsar {

v1::BreachState ToProto(breach::BreachState v);
breach::BreachState FromProto(v1::BreachState v);
v1::BreachType ToProto(breach::BreachType v);
breach::BreachType FromProto(v1::BreachType v);
v1::RiskAssessment ToProto(breach::RiskAssessment v);
breach::RiskAssessment FromProto(v1::RiskAssessment v);
v1::SubjectNotificationDecision ToProto(breach::SubjectDecision v);
breach::SubjectDecision FromProto(v1::SubjectNotificationDecision v);
v1::NotificationRecipient ToProto(breach::Recipient v);
breach::Recipient FromProto(v1::NotificationRecipient v);
v1::BreachClockState ToProto(breach::ClockState v);
breach::ReportFormat FromProto(v1::BreachReportFormat v);
v1::LawfulBasis ToProto(consent::LawfulBasis v);
consent::LawfulBasis FromProto(v1::LawfulBasis v);
v1::ConsentAction ToProto(consent::ConsentAction v);
v1::PrivacyRequestType ToProto(privacy_requests::RequestType v);
privacy_requests::RequestType FromProto(v1::PrivacyRequestType v);
v1::PrivacyRequestState ToProto(privacy_requests::RequestState v);
privacy_requests::RequestState FromProto(v1::PrivacyRequestState v);
v1::PrivacyRequestSource ToProto(privacy_requests::RequestSource v);
v1::RequesterRelation ToProto(privacy_requests::RequesterRelation v);
privacy_requests::RequesterRelation FromProto(v1::RequesterRelation v);
v1::VerificationMethod ToProto(privacy_requests::VerificationMethod v);
privacy_requests::VerificationMethod FromProto(v1::VerificationMethod v);
v1::RejectionReason ToProto(privacy_requests::RejectionReason v);
privacy_requests::RejectionReason FromProto(v1::RejectionReason v);
v1::TaskPhase ToProto(privacy_requests::TaskPhase v);
v1::DisclosureRecipient ToProto(privacy_requests::DisclosureRecipient v);
privacy_requests::DisclosureRecipient FromProto(v1::DisclosureRecipient v);
v1::ConsentState ToProto(consent::ConsentState v);
v1::DeadlineState ToProto(deadline::DeadlineState v);
v1::AlertLevel ToProto(deadline::AlertLevel v);
v1::ConnectorTaskState ToProto(connector::TaskState v);

}  // namespace dsar

#endif  // DSAR_SERVICES_ENUM_CONVERSIONS_H_
