#include "lib/breach/breach.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

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

const std::vector<std::string>& DetailFieldNames() {
  static const std::vector<std::string>* const names = new std::vector<std::string>{
      "title",
      "nature",
      "types",
      "occur_time",
      "subject_categories",
      "approx_subject_count",
      "record_categories",
      "approx_record_count",
      "affected_systems",
      "contact_point",
      "likely_consequences",
      "measures_taken",
      "circumstances",
      "effect",
      "corrective_actions",
      "risk_assessment",
      "risk_rationale",
      "subject_notification_decision",
      "subject_notification_reason",
  };
  return *names;
}

bool IsDetailField(absl::string_view name) {
  for (const auto& n : DetailFieldNames()) {
    if (n == name) return true;
  }
  return false;
}

void CopyDetailField(absl::string_view name, const BreachDetails& from, BreachDetails* to) {
  if (name == "title")
    to->title = from.title;
  else if (name == "nature")
    to->nature = from.nature;
  else if (name == "types")
    to->types = from.types;
  else if (name == "occur_time")
    to->occurred_at = from.occurred_at;
  else if (name == "subject_categories")
    to->subject_categories = from.subject_categories;
  else if (name == "approx_subject_count")
    to->approx_subject_count = from.approx_subject_count;
  else if (name == "record_categories")
    to->record_categories = from.record_categories;
  else if (name == "approx_record_count")
    to->approx_record_count = from.approx_record_count;
  else if (name == "affected_systems")
    to->affected_systems = from.affected_systems;
  else if (name == "contact_point")
    to->contact_point = from.contact_point;
  else if (name == "likely_consequences")
    to->likely_consequences = from.likely_consequences;
  else if (name == "measures_taken")
    to->measures_taken = from.measures_taken;
  else if (name == "circumstances")
    to->circumstances = from.circumstances;
  else if (name == "effect")
    to->effect = from.effect;
  else if (name == "corrective_actions")
    to->corrective_actions = from.corrective_actions;
  else if (name == "risk_assessment")
    to->risk = from.risk;
  else if (name == "risk_rationale")
    to->risk_rationale = from.risk_rationale;
  else if (name == "subject_notification_decision")
    to->subject_decision = from.subject_decision;
  else if (name == "subject_notification_reason")
    to->subject_decision_reason = from.subject_decision_reason;
}

std::vector<std::string> SetDetailFields(const BreachDetails& d) {
  const bool set[] = {
      !d.title.empty(),
      !d.nature.empty(),
      !d.types.empty(),
      d.occurred_at.has_value(),
      !d.subject_categories.empty(),
      d.approx_subject_count.has_value(),
      !d.record_categories.empty(),
      d.approx_record_count.has_value(),
      !d.affected_systems.empty(),
      !d.contact_point.empty(),
      !d.likely_consequences.empty(),
      !d.measures_taken.empty(),
      !d.circumstances.empty(),
      !d.effect.empty(),
      !d.corrective_actions.empty(),
      d.risk != RiskAssessment::kUnspecified,
      !d.risk_rationale.empty(),
      d.subject_decision != SubjectDecision::kUnspecified,
      !d.subject_decision_reason.empty(),
  };
  static_assert(sizeof(set) / sizeof(set[0]) == 19, "one entry per detail field");
  std::vector<std::string> out;
  const auto& names = DetailFieldNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (set[i]) out.push_back(names[i]);
  }
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
  return absl::StrCat("breaches/", breach_id, "/notifications/", notification_id);
}

std::string BreachIdFromName(absl::string_view name) {
  constexpr absl::string_view kPrefix = "breaches/";
  if (!absl::StartsWith(name, kPrefix)) return "";
  absl::string_view id = name.substr(kPrefix.size());
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
