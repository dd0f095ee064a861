#include "services/enum_conversions.h"

namespace dsar {
namespace {

// An undeclared wire value, kept as the same integer in the domain enum so
// that validation names the field (see the header).
template <typename Domain, typename Proto>
Domain Unknown(Proto v) {
  return static_cast<Domain>(static_cast<int>(v));
}

}  // namespace

v1::BreachState ToProto(breach::BreachState v) {
  switch (v) {
    case breach::BreachState::kUnspecified:
      return v1::BREACH_STATE_UNSPECIFIED;
    case breach::BreachState::kOpen:
      return v1::BREACH_STATE_OPEN;
    case breach::BreachState::kClosed:
      return v1::BREACH_STATE_CLOSED;
  }
  return v1::BREACH_STATE_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

breach::BreachState FromProto(v1::BreachState v) {
  switch (v) {
    case v1::BREACH_STATE_UNSPECIFIED:
      return breach::BreachState::kUnspecified;
    case v1::BREACH_STATE_OPEN:
      return breach::BreachState::kOpen;
    case v1::BREACH_STATE_CLOSED:
      return breach::BreachState::kClosed;
    default:
      return Unknown<breach::BreachState>(v);
  }
}

v1::BreachType ToProto(breach::BreachType v) {
  switch (v) {
    case breach::BreachType::kUnspecified:
      return v1::BREACH_TYPE_UNSPECIFIED;
    case breach::BreachType::kConfidentiality:
      return v1::BREACH_TYPE_CONFIDENTIALITY;
    case breach::BreachType::kIntegrity:
      return v1::BREACH_TYPE_INTEGRITY;
    case breach::BreachType::kAvailability:
      return v1::BREACH_TYPE_AVAILABILITY;
  }
  return v1::BREACH_TYPE_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

breach::BreachType FromProto(v1::BreachType v) {
  switch (v) {
    case v1::BREACH_TYPE_UNSPECIFIED:
      return breach::BreachType::kUnspecified;
    case v1::BREACH_TYPE_CONFIDENTIALITY:
      return breach::BreachType::kConfidentiality;
    case v1::BREACH_TYPE_INTEGRITY:
      return breach::BreachType::kIntegrity;
    case v1::BREACH_TYPE_AVAILABILITY:
      return breach::BreachType::kAvailability;
    default:
      return Unknown<breach::BreachType>(v);
  }
}

v1::RiskAssessment ToProto(breach::RiskAssessment v) {
  switch (v) {
    case breach::RiskAssessment::kUnspecified:
      return v1::RISK_ASSESSMENT_UNSPECIFIED;
    case breach::RiskAssessment::kNoRisk:
      return v1::RISK_ASSESSMENT_NO_RISK;
    case breach::RiskAssessment::kRisk:
      return v1::RISK_ASSESSMENT_RISK;
    case breach::RiskAssessment::kHighRisk:
      return v1::RISK_ASSESSMENT_HIGH_RISK;
  }
  return v1::RISK_ASSESSMENT_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

breach::RiskAssessment FromProto(v1::RiskAssessment v) {
  switch (v) {
    case v1::RISK_ASSESSMENT_UNSPECIFIED:
      return breach::RiskAssessment::kUnspecified;
    case v1::RISK_ASSESSMENT_NO_RISK:
      return breach::RiskAssessment::kNoRisk;
    case v1::RISK_ASSESSMENT_RISK:
      return breach::RiskAssessment::kRisk;
    case v1::RISK_ASSESSMENT_HIGH_RISK:
      return breach::RiskAssessment::kHighRisk;
    default:
      return Unknown<breach::RiskAssessment>(v);
  }
}

v1::SubjectNotificationDecision ToProto(breach::SubjectDecision v) {
  switch (v) {
    case breach::SubjectDecision::kUnspecified:
      return v1::SUBJECT_NOTIFICATION_DECISION_UNSPECIFIED;
    case breach::SubjectDecision::kNotify:
      return v1::SUBJECT_NOTIFICATION_DECISION_NOTIFY;
    case breach::SubjectDecision::kNotRequired:
      return v1::SUBJECT_NOTIFICATION_DECISION_NOT_REQUIRED;
    case breach::SubjectDecision::kExemptProtected:
      return v1::SUBJECT_NOTIFICATION_DECISION_EXEMPT_PROTECTED;
    case breach::SubjectDecision::kExemptMitigated:
      return v1::SUBJECT_NOTIFICATION_DECISION_EXEMPT_MITIGATED;
    case breach::SubjectDecision::kPublicCommunication:
      return v1::SUBJECT_NOTIFICATION_DECISION_PUBLIC_COMMUNICATION;
  }
  return v1::SUBJECT_NOTIFICATION_DECISION_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

breach::SubjectDecision FromProto(v1::SubjectNotificationDecision v) {
  switch (v) {
    case v1::SUBJECT_NOTIFICATION_DECISION_UNSPECIFIED:
      return breach::SubjectDecision::kUnspecified;
    case v1::SUBJECT_NOTIFICATION_DECISION_NOTIFY:
      return breach::SubjectDecision::kNotify;
    case v1::SUBJECT_NOTIFICATION_DECISION_NOT_REQUIRED:
      return breach::SubjectDecision::kNotRequired;
    case v1::SUBJECT_NOTIFICATION_DECISION_EXEMPT_PROTECTED:
      return breach::SubjectDecision::kExemptProtected;
    case v1::SUBJECT_NOTIFICATION_DECISION_EXEMPT_MITIGATED:
      return breach::SubjectDecision::kExemptMitigated;
    case v1::SUBJECT_NOTIFICATION_DECISION_PUBLIC_COMMUNICATION:
      return breach::SubjectDecision::kPublicCommunication;
    default:
      return Unknown<breach::SubjectDecision>(v);
  }
}

v1::NotificationRecipient ToProto(breach::Recipient v) {
  switch (v) {
    case breach::Recipient::kUnspecified:
      return v1::NOTIFICATION_RECIPIENT_UNSPECIFIED;
    case breach::Recipient::kController:
      return v1::NOTIFICATION_RECIPIENT_CONTROLLER;
    case breach::Recipient::kSupervisoryAuthority:
      return v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY;
    case breach::Recipient::kDataSubjects:
      return v1::NOTIFICATION_RECIPIENT_DATA_SUBJECTS;
  }
  return v1::NOTIFICATION_RECIPIENT_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

breach::Recipient FromProto(v1::NotificationRecipient v) {
  switch (v) {
    case v1::NOTIFICATION_RECIPIENT_UNSPECIFIED:
      return breach::Recipient::kUnspecified;
    case v1::NOTIFICATION_RECIPIENT_CONTROLLER:
      return breach::Recipient::kController;
    case v1::NOTIFICATION_RECIPIENT_SUPERVISORY_AUTHORITY:
      return breach::Recipient::kSupervisoryAuthority;
    case v1::NOTIFICATION_RECIPIENT_DATA_SUBJECTS:
      return breach::Recipient::kDataSubjects;
    default:
      return Unknown<breach::Recipient>(v);
  }
}

v1::BreachClockState ToProto(breach::ClockState v) {
  switch (v) {
    case breach::ClockState::kUnspecified:
      return v1::BREACH_CLOCK_STATE_UNSPECIFIED;
    case breach::ClockState::kNotStarted:
      return v1::BREACH_CLOCK_STATE_NOT_STARTED;
    case breach::ClockState::kOpen:
      return v1::BREACH_CLOCK_STATE_OPEN;
    case breach::ClockState::kMet:
      return v1::BREACH_CLOCK_STATE_MET;
    case breach::ClockState::kExempt:
      return v1::BREACH_CLOCK_STATE_EXEMPT;
    case breach::ClockState::kNotRequired:
      return v1::BREACH_CLOCK_STATE_NOT_REQUIRED;
  }
  return v1::BREACH_CLOCK_STATE_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

breach::ReportFormat FromProto(v1::BreachReportFormat v) {
  switch (v) {
    case v1::BREACH_REPORT_FORMAT_UNSPECIFIED:
      return breach::ReportFormat::kUnspecified;
    case v1::BREACH_REPORT_FORMAT_JSON:
      return breach::ReportFormat::kJson;
    case v1::BREACH_REPORT_FORMAT_MARKDOWN:
      return breach::ReportFormat::kMarkdown;
    default:
      return Unknown<breach::ReportFormat>(v);
  }
}

v1::LawfulBasis ToProto(consent::LawfulBasis v) {
  switch (v) {
    case consent::LawfulBasis::kUnspecified:
      return v1::LAWFUL_BASIS_UNSPECIFIED;
    case consent::LawfulBasis::kConsent:
      return v1::LAWFUL_BASIS_CONSENT;
    case consent::LawfulBasis::kExplicitConsent:
      return v1::LAWFUL_BASIS_EXPLICIT_CONSENT;
    case consent::LawfulBasis::kContract:
      return v1::LAWFUL_BASIS_CONTRACT;
    case consent::LawfulBasis::kLegalObligation:
      return v1::LAWFUL_BASIS_LEGAL_OBLIGATION;
    case consent::LawfulBasis::kVitalInterests:
      return v1::LAWFUL_BASIS_VITAL_INTERESTS;
    case consent::LawfulBasis::kPublicTask:
      return v1::LAWFUL_BASIS_PUBLIC_TASK;
    case consent::LawfulBasis::kLegitimateInterests:
      return v1::LAWFUL_BASIS_LEGITIMATE_INTERESTS;
  }
  return v1::LAWFUL_BASIS_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

consent::LawfulBasis FromProto(v1::LawfulBasis v) {
  switch (v) {
    case v1::LAWFUL_BASIS_UNSPECIFIED:
      return consent::LawfulBasis::kUnspecified;
    case v1::LAWFUL_BASIS_CONSENT:
      return consent::LawfulBasis::kConsent;
    case v1::LAWFUL_BASIS_EXPLICIT_CONSENT:
      return consent::LawfulBasis::kExplicitConsent;
    case v1::LAWFUL_BASIS_CONTRACT:
      return consent::LawfulBasis::kContract;
    case v1::LAWFUL_BASIS_LEGAL_OBLIGATION:
      return consent::LawfulBasis::kLegalObligation;
    case v1::LAWFUL_BASIS_VITAL_INTERESTS:
      return consent::LawfulBasis::kVitalInterests;
    case v1::LAWFUL_BASIS_PUBLIC_TASK:
      return consent::LawfulBasis::kPublicTask;
    case v1::LAWFUL_BASIS_LEGITIMATE_INTERESTS:
      return consent::LawfulBasis::kLegitimateInterests;
    default:
      return Unknown<consent::LawfulBasis>(v);
  }
}

v1::ConsentAction ToProto(consent::ConsentAction v) {
  switch (v) {
    case consent::ConsentAction::kGiven:
      return v1::CONSENT_ACTION_GIVEN;
    case consent::ConsentAction::kWithdrawn:
      return v1::CONSENT_ACTION_WITHDRAWN;
  }
  return v1::CONSENT_ACTION_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

v1::PrivacyRequestType ToProto(privacy_requests::RequestType v) {
  switch (v) {
    case privacy_requests::RequestType::kUnspecified:
      return v1::PRIVACY_REQUEST_TYPE_UNSPECIFIED;
    case privacy_requests::RequestType::kAccess:
      return v1::PRIVACY_REQUEST_TYPE_ACCESS;
    case privacy_requests::RequestType::kPortability:
      return v1::PRIVACY_REQUEST_TYPE_PORTABILITY;
    case privacy_requests::RequestType::kErasure:
      return v1::PRIVACY_REQUEST_TYPE_ERASURE;
  }
  return v1::PRIVACY_REQUEST_TYPE_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

privacy_requests::RequestType FromProto(v1::PrivacyRequestType v) {
  switch (v) {
    case v1::PRIVACY_REQUEST_TYPE_UNSPECIFIED:
      return privacy_requests::RequestType::kUnspecified;
    case v1::PRIVACY_REQUEST_TYPE_ACCESS:
      return privacy_requests::RequestType::kAccess;
    case v1::PRIVACY_REQUEST_TYPE_PORTABILITY:
      return privacy_requests::RequestType::kPortability;
    case v1::PRIVACY_REQUEST_TYPE_ERASURE:
      return privacy_requests::RequestType::kErasure;
    default:
      return Unknown<privacy_requests::RequestType>(v);
  }
}

v1::PrivacyRequestState ToProto(privacy_requests::RequestState v) {
  switch (v) {
    case privacy_requests::RequestState::kUnspecified:
      return v1::PRIVACY_REQUEST_STATE_UNSPECIFIED;
    case privacy_requests::RequestState::kReceived:
      return v1::PRIVACY_REQUEST_STATE_RECEIVED;
    case privacy_requests::RequestState::kVerified:
      return v1::PRIVACY_REQUEST_STATE_VERIFIED;
    case privacy_requests::RequestState::kInProgress:
      return v1::PRIVACY_REQUEST_STATE_IN_PROGRESS;
    case privacy_requests::RequestState::kCompleted:
      return v1::PRIVACY_REQUEST_STATE_COMPLETED;
    case privacy_requests::RequestState::kRejected:
      return v1::PRIVACY_REQUEST_STATE_REJECTED;
    case privacy_requests::RequestState::kCancelled:
      return v1::PRIVACY_REQUEST_STATE_CANCELLED;
    case privacy_requests::RequestState::kFailed:
      return v1::PRIVACY_REQUEST_STATE_FAILED;
  }
  return v1::PRIVACY_REQUEST_STATE_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

privacy_requests::RequestState FromProto(v1::PrivacyRequestState v) {
  switch (v) {
    case v1::PRIVACY_REQUEST_STATE_UNSPECIFIED:
      return privacy_requests::RequestState::kUnspecified;
    case v1::PRIVACY_REQUEST_STATE_RECEIVED:
      return privacy_requests::RequestState::kReceived;
    case v1::PRIVACY_REQUEST_STATE_VERIFIED:
      return privacy_requests::RequestState::kVerified;
    case v1::PRIVACY_REQUEST_STATE_IN_PROGRESS:
      return privacy_requests::RequestState::kInProgress;
    case v1::PRIVACY_REQUEST_STATE_COMPLETED:
      return privacy_requests::RequestState::kCompleted;
    case v1::PRIVACY_REQUEST_STATE_REJECTED:
      return privacy_requests::RequestState::kRejected;
    case v1::PRIVACY_REQUEST_STATE_CANCELLED:
      return privacy_requests::RequestState::kCancelled;
    case v1::PRIVACY_REQUEST_STATE_FAILED:
      return privacy_requests::RequestState::kFailed;
    default:
      return Unknown<privacy_requests::RequestState>(v);
  }
}

v1::PrivacyRequestSource ToProto(privacy_requests::RequestSource v) {
  switch (v) {
    case privacy_requests::RequestSource::kUnspecified:
      return v1::PRIVACY_REQUEST_SOURCE_UNSPECIFIED;
    case privacy_requests::RequestSource::kDataSubject:
      return v1::PRIVACY_REQUEST_SOURCE_DATA_SUBJECT;
    case privacy_requests::RequestSource::kRetention:
      return v1::PRIVACY_REQUEST_SOURCE_RETENTION;
  }
  return v1::PRIVACY_REQUEST_SOURCE_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

v1::RequesterRelation ToProto(privacy_requests::RequesterRelation v) {
  switch (v) {
    case privacy_requests::RequesterRelation::kUnspecified:
      return v1::REQUESTER_RELATION_UNSPECIFIED;
    case privacy_requests::RequesterRelation::kDataSubject:
      return v1::REQUESTER_RELATION_DATA_SUBJECT;
    case privacy_requests::RequesterRelation::kAuthorisedAgent:
      return v1::REQUESTER_RELATION_AUTHORISED_AGENT;
    case privacy_requests::RequesterRelation::kParentOrGuardian:
      return v1::REQUESTER_RELATION_PARENT_OR_GUARDIAN;
    case privacy_requests::RequesterRelation::kController:
      return v1::REQUESTER_RELATION_CONTROLLER;
  }
  return v1::REQUESTER_RELATION_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

privacy_requests::RequesterRelation FromProto(v1::RequesterRelation v) {
  switch (v) {
    case v1::REQUESTER_RELATION_UNSPECIFIED:
      return privacy_requests::RequesterRelation::kUnspecified;
    case v1::REQUESTER_RELATION_DATA_SUBJECT:
      return privacy_requests::RequesterRelation::kDataSubject;
    case v1::REQUESTER_RELATION_AUTHORISED_AGENT:
      return privacy_requests::RequesterRelation::kAuthorisedAgent;
    case v1::REQUESTER_RELATION_PARENT_OR_GUARDIAN:
      return privacy_requests::RequesterRelation::kParentOrGuardian;
    case v1::REQUESTER_RELATION_CONTROLLER:
      return privacy_requests::RequesterRelation::kController;
    default:
      return Unknown<privacy_requests::RequesterRelation>(v);
  }
}

v1::VerificationMethod ToProto(privacy_requests::VerificationMethod v) {
  switch (v) {
    case privacy_requests::VerificationMethod::kUnspecified:
      return v1::VERIFICATION_METHOD_UNSPECIFIED;
    case privacy_requests::VerificationMethod::kAuthenticatedSession:
      return v1::VERIFICATION_METHOD_AUTHENTICATED_SESSION;
    case privacy_requests::VerificationMethod::kDocumentCheck:
      return v1::VERIFICATION_METHOD_DOCUMENT_CHECK;
    case privacy_requests::VerificationMethod::kKnownContactChannel:
      return v1::VERIFICATION_METHOD_KNOWN_CONTACT_CHANNEL;
    case privacy_requests::VerificationMethod::kOther:
      return v1::VERIFICATION_METHOD_OTHER;
  }
  return v1::VERIFICATION_METHOD_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

privacy_requests::VerificationMethod FromProto(v1::VerificationMethod v) {
  switch (v) {
    case v1::VERIFICATION_METHOD_UNSPECIFIED:
      return privacy_requests::VerificationMethod::kUnspecified;
    case v1::VERIFICATION_METHOD_AUTHENTICATED_SESSION:
      return privacy_requests::VerificationMethod::kAuthenticatedSession;
    case v1::VERIFICATION_METHOD_DOCUMENT_CHECK:
      return privacy_requests::VerificationMethod::kDocumentCheck;
    case v1::VERIFICATION_METHOD_KNOWN_CONTACT_CHANNEL:
      return privacy_requests::VerificationMethod::kKnownContactChannel;
    case v1::VERIFICATION_METHOD_OTHER:
      return privacy_requests::VerificationMethod::kOther;
    default:
      return Unknown<privacy_requests::VerificationMethod>(v);
  }
}

v1::RejectionReason ToProto(privacy_requests::RejectionReason v) {
  switch (v) {
    case privacy_requests::RejectionReason::kUnspecified:
      return v1::REJECTION_REASON_UNSPECIFIED;
    case privacy_requests::RejectionReason::kManifestlyUnfounded:
      return v1::REJECTION_REASON_MANIFESTLY_UNFOUNDED;
    case privacy_requests::RejectionReason::kExcessive:
      return v1::REJECTION_REASON_EXCESSIVE;
    case privacy_requests::RejectionReason::kIdentityNotVerified:
      return v1::REJECTION_REASON_IDENTITY_NOT_VERIFIED;
    case privacy_requests::RejectionReason::kOther:
      return v1::REJECTION_REASON_OTHER;
  }
  return v1::REJECTION_REASON_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

privacy_requests::RejectionReason FromProto(v1::RejectionReason v) {
  switch (v) {
    case v1::REJECTION_REASON_UNSPECIFIED:
      return privacy_requests::RejectionReason::kUnspecified;
    case v1::REJECTION_REASON_MANIFESTLY_UNFOUNDED:
      return privacy_requests::RejectionReason::kManifestlyUnfounded;
    case v1::REJECTION_REASON_EXCESSIVE:
      return privacy_requests::RejectionReason::kExcessive;
    case v1::REJECTION_REASON_IDENTITY_NOT_VERIFIED:
      return privacy_requests::RejectionReason::kIdentityNotVerified;
    case v1::REJECTION_REASON_OTHER:
      return privacy_requests::RejectionReason::kOther;
    default:
      return Unknown<privacy_requests::RejectionReason>(v);
  }
}

v1::TaskPhase ToProto(privacy_requests::TaskPhase v) {
  switch (v) {
    case privacy_requests::TaskPhase::kUnspecified:
      return v1::TASK_PHASE_UNSPECIFIED;
    case privacy_requests::TaskPhase::kExport:
      return v1::TASK_PHASE_EXPORT;
    case privacy_requests::TaskPhase::kErase:
      return v1::TASK_PHASE_ERASE;
    case privacy_requests::TaskPhase::kVerify:
      return v1::TASK_PHASE_VERIFY;
  }
  return v1::TASK_PHASE_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

v1::DisclosureRecipient ToProto(privacy_requests::DisclosureRecipient v) {
  switch (v) {
    case privacy_requests::DisclosureRecipient::kUnspecified:
      return v1::DISCLOSURE_RECIPIENT_UNSPECIFIED;
    case privacy_requests::DisclosureRecipient::kDataSubject:
      return v1::DISCLOSURE_RECIPIENT_DATA_SUBJECT;
    case privacy_requests::DisclosureRecipient::kAuthorisedAgent:
      return v1::DISCLOSURE_RECIPIENT_AUTHORISED_AGENT;
    case privacy_requests::DisclosureRecipient::kOtherController:
      return v1::DISCLOSURE_RECIPIENT_OTHER_CONTROLLER;
  }
  return v1::DISCLOSURE_RECIPIENT_UNSPECIFIED;  // a value outside the enum (a corrupt row)
}

privacy_requests::DisclosureRecipient FromProto(v1::DisclosureRecipient v) {
  switch (v) {
    case v1::DISCLOSURE_RECIPIENT_UNSPECIFIED:
      return privacy_requests::DisclosureRecipient::kUnspecified;
    case v1::DISCLOSURE_RECIPIENT_DATA_SUBJECT:
      return privacy_requests::DisclosureRecipient::kDataSubject;
    case v1::DISCLOSURE_RECIPIENT_AUTHORISED_AGENT:
      return privacy_requests::DisclosureRecipient::kAuthorisedAgent;
    case v1::DISCLOSURE_RECIPIENT_OTHER_CONTROLLER:
      return privacy_requests::DisclosureRecipient::kOtherController;
    default:
      return Unknown<privacy_requests::DisclosureRecipient>(v);
  }
}

v1::ConsentState ToProto(consent::ConsentState s) {
  switch (s) {
    case consent::ConsentState::kGranted:
      return v1::CONSENT_STATE_GRANTED;
    case consent::ConsentState::kWithdrawn:
      return v1::CONSENT_STATE_WITHDRAWN;
    case consent::ConsentState::kNone:
      return v1::CONSENT_STATE_NONE;
  }
  return v1::CONSENT_STATE_UNSPECIFIED;
}

v1::DeadlineState ToProto(deadline::DeadlineState s) {
  switch (s) {
    case deadline::DeadlineState::kOpen:
      return v1::DEADLINE_STATE_OPEN;
    case deadline::DeadlineState::kCompleted:
      return v1::DEADLINE_STATE_COMPLETED;
    case deadline::DeadlineState::kCancelled:
      return v1::DEADLINE_STATE_CANCELLED;
  }
  return v1::DEADLINE_STATE_UNSPECIFIED;
}

v1::AlertLevel ToProto(deadline::AlertLevel l) {
  switch (l) {
    case deadline::AlertLevel::kWarning:
      return v1::ALERT_LEVEL_WARNING;
    case deadline::AlertLevel::kDue:
      return v1::ALERT_LEVEL_DUE;
    case deadline::AlertLevel::kOverdue:
      return v1::ALERT_LEVEL_OVERDUE;
  }
  return v1::ALERT_LEVEL_UNSPECIFIED;
}

v1::ConnectorTaskState ToProto(connector::TaskState s) {
  switch (s) {
    case connector::TaskState::kPending:
      return v1::CONNECTOR_TASK_STATE_PENDING;
    case connector::TaskState::kRunning:
      return v1::CONNECTOR_TASK_STATE_RUNNING;
    case connector::TaskState::kDone:
      return v1::CONNECTOR_TASK_STATE_DONE;
    case connector::TaskState::kSkipped:
      return v1::CONNECTOR_TASK_STATE_SKIPPED;
    case connector::TaskState::kWaiting:
      return v1::CONNECTOR_TASK_STATE_WAITING;
    case connector::TaskState::kFailed:
      return v1::CONNECTOR_TASK_STATE_FAILED;
    case connector::TaskState::kDead:
      return v1::CONNECTOR_TASK_STATE_DEAD;
    case connector::TaskState::kNoMatch:
      return v1::CONNECTOR_TASK_STATE_NO_MATCHING_RECORD;
  }
  return v1::CONNECTOR_TASK_STATE_UNSPECIFIED;
}

}  // namespace dsar
