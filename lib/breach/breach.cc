#include "lib/breach/breach.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/breach/breach_details.h"

namespace dsar::breach {

const char* BreachStateName(BreachState s) {
  switch (s) {
    case BreachState::kOpen:
      return "open";
    case BreachState::kClosed:
      return "closed";
    case BreachState::kUnspecified:
      break;
  }
  return "unspecified";
}

const char* BreachTypeName(BreachType t) {
  switch (t) {
    case BreachType::kConfidentiality:
      return "confidentiality";
    case BreachType::kIntegrity:
      return "integrity";
    case BreachType::kAvailability:
      return "availability";
    case BreachType::kUnspecified:
      break;
  }
  return "unspecified";
}

const char* RiskAssessmentName(RiskAssessment r) {
  switch (r) {
    case RiskAssessment::kNoRisk:
      return "no_risk";
    case RiskAssessment::kRisk:
      return "risk";
    case RiskAssessment::kHighRisk:
      return "high_risk";
    case RiskAssessment::kUnspecified:
      break;
  }
  return "unspecified";
}

const char* SubjectDecisionName(SubjectDecision d) {
  switch (d) {
    case SubjectDecision::kNotify:
      return "notify";
    case SubjectDecision::kNotRequired:
      return "not_required";
    case SubjectDecision::kExemptProtected:
      return "exempt_protected";
    case SubjectDecision::kExemptMitigated:
      return "exempt_mitigated";
    case SubjectDecision::kPublicCommunication:
      return "public_communication";
    case SubjectDecision::kUnspecified:
      break;
  }
  return "unspecified";
}

const char* RecipientName(Recipient r) {
  switch (r) {
    case Recipient::kController:
      return "controller";
    case Recipient::kSupervisoryAuthority:
      return "supervisory_authority";
    case Recipient::kDataSubjects:
      return "data_subjects";
    case Recipient::kUnspecified:
      break;
  }
  return "unspecified";
}

namespace {

bool HasValue(const std::string& v) { return !v.empty(); }
template <typename T>
bool HasValue(const std::vector<T>& v) {
  return !v.empty();
}
template <typename T>
bool HasValue(const std::optional<T>& v) {
  return v.has_value();
}
bool HasValue(RiskAssessment v) { return v != RiskAssessment::kUnspecified; }
bool HasValue(SubjectDecision v) { return v != SubjectDecision::kUnspecified; }

}  // namespace

bool IsDefined(BreachState v) {
  switch (v) {
    case BreachState::kUnspecified:
    case BreachState::kOpen:
    case BreachState::kClosed:
      return true;
  }
  return false;
}

bool IsDefined(BreachType v) {
  switch (v) {
    case BreachType::kUnspecified:
    case BreachType::kConfidentiality:
    case BreachType::kIntegrity:
    case BreachType::kAvailability:
      return true;
  }
  return false;
}

bool IsDefined(RiskAssessment v) {
  switch (v) {
    case RiskAssessment::kUnspecified:
    case RiskAssessment::kNoRisk:
    case RiskAssessment::kRisk:
    case RiskAssessment::kHighRisk:
      return true;
  }
  return false;
}

bool IsDefined(SubjectDecision v) {
  switch (v) {
    case SubjectDecision::kUnspecified:
    case SubjectDecision::kNotify:
    case SubjectDecision::kNotRequired:
    case SubjectDecision::kExemptProtected:
    case SubjectDecision::kExemptMitigated:
    case SubjectDecision::kPublicCommunication:
      return true;
  }
  return false;
}

bool IsDefined(Recipient v) {
  switch (v) {
    case Recipient::kUnspecified:
    case Recipient::kController:
    case Recipient::kSupervisoryAuthority:
    case Recipient::kDataSubjects:
      return true;
  }
  return false;
}

const std::vector<std::string>& DetailFieldNames() {
  static const std::vector<std::string>* const names = [] {
    auto* out = new std::vector<std::string>;
    ForEachDetailField([out](const DetailField& f, auto) { out->push_back(f.name); });
    return out;
  }();
  return *names;
}

bool IsDetailField(absl::string_view name) {
  for (const auto& n : DetailFieldNames()) {
    if (n == name) return true;
  }
  return false;
}

void CopyDetailField(absl::string_view name, const BreachDetails& from, BreachDetails* to) {
  ForEachDetailField([&](const DetailField& f, auto member) {
    if (name == f.name) to->*member = from.*member;
  });
}

std::vector<std::string> SetDetailFields(const BreachDetails& d) {
  std::vector<std::string> out;
  ForEachDetailField([&](const DetailField& f, auto member) {
    if (HasValue(d.*member)) out.push_back(f.name);
  });
  return out;
}

std::optional<absl::Time> AffectedTenant::NotifiedAt(Recipient r) const {
  switch (r) {
    case Recipient::kController:
      return controller_notified_at;
    case Recipient::kSupervisoryAuthority:
      return authority_notified_at;
    case Recipient::kDataSubjects:
      return subjects_notified_at;
    case Recipient::kUnspecified:
      break;
  }
  return std::nullopt;
}

std::string Notification::name() const {
  return absl::StrCat(kBreachesCollection, breach_id, kNotificationsCollection, notification_id);
}

std::string BreachIdFromName(absl::string_view name) {
  if (!absl::StartsWith(name, kBreachesCollection)) return "";
  absl::string_view id = name.substr(kBreachesCollection.size());
  if (id.empty() || id.size() > 64) return "";
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return "";
  }
  return std::string(id);
}

std::vector<Recipient> RequiredRecipients(bool processor_reported, RiskAssessment risk,
                                          SubjectDecision decision) {
  std::vector<Recipient> out;
  if (processor_reported) out.push_back(Recipient::kController);
  if (risk != RiskAssessment::kNoRisk) out.push_back(Recipient::kSupervisoryAuthority);
  if (decision == SubjectDecision::kNotify || decision == SubjectDecision::kPublicCommunication) {
    out.push_back(Recipient::kDataSubjects);
  }
  return out;
}

const char* ClockStateName(ClockState s) {
  switch (s) {
    case ClockState::kNotStarted:
      return "not_started";
    case ClockState::kOpen:
      return "open";
    case ClockState::kMet:
      return "met";
    case ClockState::kExempt:
      return "exempt";
    case ClockState::kNotRequired:
      return "not_required";
    case ClockState::kUnspecified:
      break;
  }
  return "unspecified";
}

ClockState AuthorityClockState(const AffectedTenant& t) {
  if (t.authority_notified_at.has_value()) return ClockState::kMet;
  if (t.authority.exempt_at.has_value()) return ClockState::kExempt;
  if (t.authority.due_at.has_value()) return ClockState::kOpen;
  return ClockState::kNotStarted;
}

ClockState SubjectClockState(const AffectedTenant& t, RiskAssessment risk) {
  if (!t.subjects.due_at.has_value()) return ClockState::kNotStarted;
  if (t.subjects_notified_at.has_value()) return ClockState::kMet;
  if (t.subjects.exempt_at.has_value()) return ClockState::kExempt;
  if (risk != RiskAssessment::kHighRisk) return ClockState::kNotRequired;
  return ClockState::kOpen;
}

bool NotificationOverdue(const Breach& breach, const AffectedTenant& tenant, absl::Time now) {
  if (breach.state != BreachState::kOpen) return false;
  if (breach.processor_reported && !tenant.controller_notified_at.has_value() &&
      now >= tenant.due_at) {
    return true;
  }
  if (breach.current_risk != RiskAssessment::kNoRisk &&
      AuthorityClockState(tenant) == ClockState::kOpen && now >= *tenant.authority.due_at) {
    return true;
  }
  return SubjectClockState(tenant, breach.current_risk) == ClockState::kOpen &&
         now >= *tenant.subjects.due_at;
}

}  // namespace dsar::breach
