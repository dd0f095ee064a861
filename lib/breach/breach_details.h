// BreachDetails' fields, listed once.
//
// Everything that walks the fields of a BreachDetails calls ForEachDetailField
// instead of naming them again: update masks and changed fields (breach.cc),
// stored versions (breach_rows.cc), the report's JSON (breach_report.cc),
// validation (breach_validation.cc) and the gRPC adapter's conversion
// (services/breach_service.cc, by the proto field of the same name). A field
// added to BreachDetails and to this list reaches all of them; each consumer
// treats a field by its member's type, so a member of a new type fails to
// compile until every consumer knows it. Tests compare the list with
// dsar.v1.BreachDetails' fields and pin the stored JSON keys.
#ifndef DSAR_LIB_BREACH_BREACH_DETAILS_H_
#define DSAR_LIB_BREACH_BREACH_DETAILS_H_

#include <cstddef>

#include "lib/breach/breach.h"
#include "lib/breach/breach_validation.h"

namespace dsar::breach {

// How a text member is checked.
enum class TextRule {
  kNone,       // not text
  kLabel,      // one line, no control characters
  kParagraph,  // free text, UTF-8
};

struct DetailField {
  const char* name;        // the dsar.v1.BreachDetails field; the update-mask path
  const char* stored_key;  // its key in a stored version (breach_versions.details): never changes
  TextRule text = TextRule::kNone;
  size_t max_length = 0;  // bytes, for text
};

// Calls visit(field, member) for every field in declaration order; `member`
// is a pointer to the BreachDetails member.
template <typename Visitor>
void ForEachDetailField(Visitor&& visit) {
  using D = BreachDetails;
  visit(DetailField{"title", "title", TextRule::kLabel, kMaxTitleLength}, &D::title);
  visit(DetailField{"nature", "nature", TextRule::kParagraph, kMaxTextLength}, &D::nature);
  visit(DetailField{"types", "types"}, &D::types);
  visit(DetailField{"occur_time", "occur_time_us"}, &D::occurred_at);
  visit(DetailField{"subject_categories", "subject_categories"}, &D::subject_categories);
  visit(DetailField{"approx_subject_count", "approx_subject_count"}, &D::approx_subject_count);
  visit(DetailField{"record_categories", "record_categories"}, &D::record_categories);
  visit(DetailField{"approx_record_count", "approx_record_count"}, &D::approx_record_count);
  visit(DetailField{"affected_systems", "affected_systems"}, &D::affected_systems);
  visit(DetailField{"contact_point", "contact_point", TextRule::kParagraph, kMaxContactPointLength},
        &D::contact_point);
  visit(DetailField{"likely_consequences", "likely_consequences", TextRule::kParagraph,
                    kMaxTextLength},
        &D::likely_consequences);
  visit(DetailField{"measures_taken", "measures_taken", TextRule::kParagraph, kMaxTextLength},
        &D::measures_taken);
  visit(DetailField{"circumstances", "circumstances", TextRule::kParagraph, kMaxTextLength},
        &D::circumstances);
  visit(DetailField{"effect", "effect", TextRule::kParagraph, kMaxTextLength}, &D::effect);
  visit(
      DetailField{"corrective_actions", "corrective_actions", TextRule::kParagraph, kMaxTextLength},
      &D::corrective_actions);
  visit(DetailField{"risk_assessment", "risk_assessment"}, &D::risk);
  visit(DetailField{"risk_rationale", "risk_rationale", TextRule::kParagraph, kMaxTextLength},
        &D::risk_rationale);
  visit(DetailField{"subject_notification_decision", "subject_notification_decision"},
        &D::subject_decision);
  visit(DetailField{"subject_notification_reason", "subject_notification_reason",
                    TextRule::kParagraph, kMaxTextLength},
        &D::subject_decision_reason);
}

}  // namespace dsar::breach

#endif  // DSAR_LIB_BREACH_BREACH_DETAILS_H_
