#include "lib/breach/breach_validation.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/breach/breach_details.h"

namespace dsar::breach {
namespace {

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

bool HasControlCharacters(absl::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

void CheckList(const std::string& field, const std::vector<std::string>& values,
               FieldErrors& errors) {
  if (values.size() > kMaxListEntries) {
    errors.Add(field, absl::StrCat("at most ", kMaxListEntries, " entries"));
    return;
  }
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string entry = absl::StrCat(field, "[", i, "]");
    if (values[i].empty()) {
      errors.Add(entry, "must not be empty");
    } else {
      CheckLabel(entry, values[i], kMaxEntryLength, errors);
    }
    for (size_t j = 0; j < i; ++j) {
      if (values[j] == values[i]) {
        errors.Add(entry, "duplicate entry");
        break;
      }
    }
  }
}

void CheckCount(const std::string& field, const std::optional<int64_t>& count,
                FieldErrors& errors) {
  if (!count.has_value()) return;
  if (*count < 0) {
    errors.Add(field, "must not be negative");
  } else if (*count > kMaxCount) {
    errors.Add(field, absl::StrCat("at most ", kMaxCount));
  }
}

}  // namespace

void CheckText(absl::string_view field, absl::string_view value, size_t max, FieldErrors& errors) {
  if (value.size() > max) {
    errors.Add(std::string(field), absl::StrCat("at most ", max, " bytes"));
  } else if (!IsValidUtf8(value)) {
    errors.Add(std::string(field), "must be UTF-8");
  }
}

void CheckLabel(absl::string_view field, absl::string_view value, size_t max, FieldErrors& errors) {
  if (value.size() > max) {
    errors.Add(std::string(field), absl::StrCat("at most ", max, " bytes"));
  } else if (!IsValidUtf8(value) || HasControlCharacters(value)) {
    errors.Add(std::string(field), "must be one line of UTF-8 text");
  }
}

namespace {

// One field's check, by its member's type.
void CheckField(const DetailField& f, const std::string& field, const std::string& v, absl::Time,
                FieldErrors& errors) {
  if (f.text == TextRule::kLabel) {
    CheckLabel(field, v, f.max_length, errors);
  } else {
    CheckText(field, v, f.max_length, errors);
  }
}
void CheckField(const DetailField&, const std::string& field, const std::vector<std::string>& v,
                absl::Time, FieldErrors& errors) {
  CheckList(field, v, errors);
}
void CheckField(const DetailField&, const std::string& field, const std::vector<BreachType>& v,
                absl::Time, FieldErrors& errors) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (!IsDefined(v[i]) || v[i] == BreachType::kUnspecified) {
      errors.Add(absl::StrCat(field, "[", i, "]"), "must be one of the BREACH_TYPE_ values");
    }
    for (size_t j = 0; j < i; ++j) {
      if (v[j] == v[i]) errors.Add(absl::StrCat(field, "[", i, "]"), "duplicate");
    }
  }
}
void CheckField(const DetailField&, const std::string& field, const std::optional<absl::Time>& v,
                absl::Time now, FieldErrors& errors) {
  if (v.has_value() && (*v > now + kClockSkew || *v < absl::UnixEpoch())) {
    errors.Add(field, "must lie between 1970 and now");
  }
}
void CheckField(const DetailField&, const std::string& field, const std::optional<int64_t>& v,
                absl::Time, FieldErrors& errors) {
  CheckCount(field, v, errors);
}
void CheckField(const DetailField&, const std::string& field, RiskAssessment v, absl::Time,
                FieldErrors& errors) {
  if (!IsDefined(v)) errors.Add(field, "must be one of the RISK_ASSESSMENT_ values");
}
void CheckField(const DetailField&, const std::string& field, SubjectDecision v, absl::Time,
                FieldErrors& errors) {
  if (!IsDefined(v)) errors.Add(field, "must be one of the SUBJECT_NOTIFICATION_DECISION_ values");
}

}  // namespace

void CheckDetailFields(const BreachDetails& d, const std::vector<std::string>& fields,
                       absl::string_view prefix, absl::Time now, FieldErrors& errors) {
  for (const std::string& name : fields) {
    ForEachDetailField([&](const DetailField& f, auto member) {
      if (name == f.name) CheckField(f, absl::StrCat(prefix, name), d.*member, now, errors);
    });
  }
}

void CheckDetailInvariants(const BreachDetails& d, absl::Time aware_at, absl::string_view prefix,
                           FieldErrors& errors) {
  if (d.title.empty()) errors.Add(absl::StrCat(prefix, "title"), "required");
  if (d.nature.empty()) errors.Add(absl::StrCat(prefix, "nature"), "required");
  if (d.occurred_at.has_value() && *d.occurred_at > aware_at) {
    errors.Add(absl::StrCat(prefix, "occur_time"),
               "must not be after the time of awareness (aware_time)");
  }
  // An assessment that closes a clock without a notification keeps its reason.
  if (d.risk == RiskAssessment::kNoRisk && d.risk_rationale.empty()) {
    errors.Add(absl::StrCat(prefix, "risk_rationale"),
               "required with RISK_ASSESSMENT_NO_RISK: the reason the supervisory authority is "
               "not notified (Art. 33(1), kept in the Art. 33(5) documentation)");
  }
  if ((d.subject_decision == SubjectDecision::kExemptProtected ||
       d.subject_decision == SubjectDecision::kExemptMitigated) &&
      d.subject_decision_reason.empty()) {
    errors.Add(absl::StrCat(prefix, "subject_notification_reason"),
               "required with an Art. 34(3) exemption: why it applies");
  }
}

std::vector<PreconditionViolation> CloseViolations(const Breach& b) {
  std::vector<PreconditionViolation> out;
  const std::string subject = b.name();
  const BreachDetails& d = b.details;
  auto missing = [&](bool is_missing, const char* field, const char* what) {
    if (is_missing) {
      out.push_back({"MISSING_FIELD", subject,
                     absl::StrCat("details.", field, " (", what, ") is required to close")});
    }
  };
  missing(d.nature.empty(), "nature", "nature of the breach, Art. 33(3)(a)");
  missing(d.subject_categories.empty(), "subject_categories",
          "categories of data subjects, Art. 33(3)(a)");
  missing(!d.approx_subject_count.has_value(), "approx_subject_count",
          "approximate number of data subjects, Art. 33(3)(a)");
  missing(d.record_categories.empty(), "record_categories",
          "categories of personal data records, Art. 33(3)(a)");
  missing(!d.approx_record_count.has_value(), "approx_record_count",
          "approximate number of records, Art. 33(3)(a)");
  missing(d.contact_point.empty(), "contact_point", "contact point, Art. 33(3)(b)");
  missing(d.likely_consequences.empty(), "likely_consequences",
          "likely consequences, Art. 33(3)(c)");
  missing(d.measures_taken.empty(), "measures_taken", "measures taken or proposed, Art. 33(3)(d)");
  missing(d.circumstances.empty(), "circumstances", "facts of the breach, Art. 33(5)");
  missing(d.effect.empty(), "effect", "its effects, Art. 33(5)");
  missing(d.corrective_actions.empty(), "corrective_actions",
          "corrective actions taken, Art. 33(5)");
  missing(d.risk == RiskAssessment::kUnspecified, "risk_assessment", "risk assessment");
  missing(d.subject_decision == SubjectDecision::kUnspecified, "subject_notification_decision",
          "decision on informing data subjects, Art. 34");
  missing(d.subject_decision_reason.empty(), "subject_notification_reason",
          "reason for that decision");
  if (d.risk == RiskAssessment::kHighRisk && d.subject_decision == SubjectDecision::kNotRequired) {
    out.push_back({"SUBJECT_NOTIFICATION", subject,
                   "the risk is high: data subjects must be informed unless an Art. 34(3) "
                   "exception applies (EXEMPT_PROTECTED, EXEMPT_MITIGATED or "
                   "PUBLIC_COMMUNICATION)"});
  }
  for (const AffectedTenant& t : b.affected_tenants) {
    for (Recipient r : RequiredRecipients(b.processor_reported, d.risk, d.subject_decision)) {
      if (t.NotifiedAt(r).has_value()) continue;
      out.push_back({"MISSING_NOTIFICATION",
                     absl::StrCat(subject, "/tenants/", t.tenant, "/", RecipientName(r)),
                     absl::StrCat("no notification of the ", RecipientName(r), " for tenant ",
                                  t.tenant, " is recorded")});
    }
  }
  return out;
}

}  // namespace dsar::breach
