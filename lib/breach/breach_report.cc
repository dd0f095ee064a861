#include "lib/breach/breach_report.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/breach/breach_details.h"
#include "lib/breach/breach_validation.h"

namespace dsar::breach {
namespace {

using json = nlohmann::ordered_json;

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

json OptTime(const std::optional<absl::Time>& t) {
  return t.has_value() ? json(Rfc3339(*t)) : json(nullptr);
}

// The report's JSON value of each member type: names instead of numbers,
// RFC 3339 instead of microseconds (keys: DetailField::name).
json Reported(const std::string& v) { return v; }
json Reported(const std::vector<std::string>& v) { return v; }
json Reported(const std::vector<BreachType>& v) {
  json out = json::array();
  for (BreachType t : v) out.push_back(BreachTypeName(t));
  return out;
}
json Reported(const std::optional<absl::Time>& v) { return OptTime(v); }
json Reported(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json Reported(RiskAssessment v) { return RiskAssessmentName(v); }
json Reported(SubjectDecision v) { return SubjectDecisionName(v); }

json DetailsJson(const BreachDetails& d) {
  json j = json::object();
  ForEachDetailField([&](const DetailField& f, auto member) { j[f.name] = Reported(d.*member); });
  return j;
}

// Free text as Markdown paragraphs; "(not yet recorded)" when empty.
std::string Paragraph(absl::string_view text) {
  if (text.empty()) return "_(not yet recorded)_\n";
  std::string out;
  for (char c : EscapeMarkdown(text)) {
    if (c == '\n') {
      out += "  \n";  // hard line break
    } else if (c != '\r') {
      out += c;
    }
  }
  return out + "\n";
}

std::string Cell(absl::string_view text) {
  std::string out;
  for (char c : EscapeMarkdown(text)) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out.empty() ? "-" : out;
}

std::string List(const std::vector<std::string>& values) {
  if (values.empty()) return "_(not yet recorded)_";
  std::vector<std::string> escaped;
  for (const auto& v : values) escaped.push_back(EscapeMarkdown(v));
  return absl::StrJoin(escaped, ", ");
}

std::string Count(const std::optional<int64_t>& n) {
  return n.has_value() ? absl::StrCat("about ", *n) : "_(not yet known)_";
}

std::string When(const std::optional<absl::Time>& t) { return t.has_value() ? Rfc3339(*t) : "-"; }

}  // namespace

std::string EscapeMarkdown(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool line_start = true;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (line_start) {
      line_start = false;
      // What opens a block only at the start of a line: indentation (code
      // after a blank line), a list item ("-", "+", "1." or "1)"), a setext
      // heading underline or thematic break ("===", "---").
      if (c == ' ' || c == '\t') {
        out += c == ' ' ? "&#32;" : "&#9;";
        continue;
      }
      if (c == '-' || c == '+' || c == '=') {
        out += '\\';
        out += c;
        continue;
      }
      if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        size_t end = i;
        while (end < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[end]))) {
          ++end;
        }
        if (end < text.size() && (text[end] == '.' || text[end] == ')')) {
          out.append(text.data() + i, end - i);
          out += '\\';
          out += text[end];
          i = end;
          continue;
        }
      }
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '|':
      case '#':
      case '~':
      case '!':
        out += '\\';
        out += c;
        break;
      case '\n':
      case '\r':
        out += c;
        line_start = true;
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderReportJson(const Breach& b, absl::string_view controller,
                             absl::Time generated_at) {
  json j;
  j["report"] = "GDPR Art. 33(5) personal data breach documentation";
  j["breach"] = b.name();
  j["controller"] = controller.empty() ? json(nullptr) : json(std::string(controller));
  j["generated_at"] = Rfc3339(generated_at);
  j["state"] = BreachStateName(b.state);
  j["aware_time"] = Rfc3339(b.aware_at);
  j["report_time"] = Rfc3339(b.reported_at);
  j["reported_by"] = b.reported_by;
  j["processor_reported"] = b.processor_reported;
  j["version"] = b.version;
  j["details"] = DetailsJson(b.details);
  json tenants = json::array();
  for (const auto& t : b.affected_tenants) {
    json jt;
    jt["tenant"] = t.tenant;
    jt["aware_time"] = Rfc3339(t.aware_at);
    jt["notification_due_time"] = Rfc3339(t.due_at);
    jt["controller_notify_time"] = OptTime(t.controller_notified_at);
    jt["authority_notify_time"] = OptTime(t.authority_notified_at);
    jt["subjects_notify_time"] = OptTime(t.subjects_notified_at);
    jt["notification_overdue"] = t.overdue;
    auto clock = [](const TenantClock& c, ClockState state) {
      json jc;
      jc["state"] = ClockStateName(state);
      jc["start_time"] = OptTime(c.start_at);
      jc["due_time"] = OptTime(c.due_at);
      jc["exempt_time"] = OptTime(c.exempt_at);
      return jc;
    };
    jt["authority_clock"] = clock(t.authority, AuthorityClockState(t));
    jt["subject_clock"] = clock(t.subjects, SubjectClockState(t, b.current_risk));
    tenants.push_back(jt);
  }
  j["affected_tenants"] = tenants;
  json notifications = json::array();
  for (const auto& n : b.notifications) {
    json jn;
    jn["name"] = n.name();
    jn["tenant"] = n.tenant;
    jn["recipient"] = RecipientName(n.recipient);
    jn["notify_time"] = Rfc3339(n.notified_at);
    jn["channel"] = n.channel;
    jn["reference"] = n.reference;
    jn["content_version"] = n.content_version;
    jn["late"] = n.late;
    jn["delay_reason"] = n.delay_reason;
    jn["recorded_by"] = n.recorded_by;
    jn["record_time"] = Rfc3339(n.recorded_at);
    notifications.push_back(jn);
  }
  j["notifications"] = notifications;
  json versions = json::array();
  for (const auto& v : b.versions) {
    json jv;
    jv["version"] = v.version;
    jv["record_time"] = Rfc3339(v.recorded_at);
    jv["author"] = v.author;
    jv["changed_fields"] = v.changed_fields;
    jv["change_note"] = v.change_note;
    jv["details"] = DetailsJson(v.details);
    versions.push_back(jv);
  }
  j["versions"] = versions;
  json open_items = json::array();
  if (b.state == BreachState::kOpen) {
    for (const auto& v : CloseViolations(b)) {
      open_items.push_back(
          {{"type", v.type}, {"subject", v.subject}, {"description", v.description}});
    }
  }
  j["open_items"] = open_items;
  j["close_time"] = OptTime(b.closed_at);
  j["closed_by"] = b.closed_by;
  j["close_note"] = b.close_note;
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

std::string RenderReportMarkdown(const Breach& b, absl::string_view controller,
                                 absl::Time generated_at) {
  const BreachDetails& d = b.details;
  std::string md;
  absl::StrAppend(&md, "# Personal data breach: ", Cell(d.title), "\n\n");
  absl::StrAppend(&md, "Documentation under GDPR Art. 33(5)",
                  controller.empty() ? std::string(" for every affected controller")
                                     : absl::StrCat(" for controller `", Cell(controller), "`"),
                  ". Generated ", Rfc3339(generated_at), " from version ", b.version,
                  " of the register entry.\n\n");
  absl::StrAppend(&md, "| | |\n|---|---|\n");
  absl::StrAppend(&md, "| Breach | `", b.name(), "` |\n");
  absl::StrAppend(&md, "| State | ", BreachStateName(b.state), " |\n");
  absl::StrAppend(&md, "| Became aware | ", Rfc3339(b.aware_at), " |\n");
  absl::StrAppend(&md, "| Occurred | ", When(d.occurred_at), " |\n");
  absl::StrAppend(&md, "| Reported to the register | ", Rfc3339(b.reported_at), " by ",
                  Cell(b.reported_by), b.processor_reported ? " (processor)" : " (controller)",
                  " |\n");
  if (b.closed_at.has_value()) {
    absl::StrAppend(&md, "| Closed | ", Rfc3339(*b.closed_at), " by ", Cell(b.closed_by), " |\n");
  }
  md += "\n## Notification content (Art. 33(3))\n\n";
  absl::StrAppend(&md, "### Nature of the breach\n\n", Paragraph(d.nature), "\n");
  std::vector<std::string> types;
  for (BreachType t : d.types) types.push_back(BreachTypeName(t));
  absl::StrAppend(
      &md, "- Type: ", types.empty() ? "_(not yet recorded)_" : absl::StrJoin(types, ", "), "\n");
  absl::StrAppend(&md, "- Categories of data subjects: ", List(d.subject_categories), "\n");
  absl::StrAppend(&md, "- Approximate number of data subjects: ", Count(d.approx_subject_count),
                  "\n");
  absl::StrAppend(&md, "- Categories of personal data records: ", List(d.record_categories), "\n");
  absl::StrAppend(&md, "- Approximate number of records: ", Count(d.approx_record_count), "\n");
  absl::StrAppend(&md, "- Systems affected: ", List(d.affected_systems), "\n\n");
  absl::StrAppend(&md, "### Contact point\n\n", Paragraph(d.contact_point), "\n");
  absl::StrAppend(&md, "### Likely consequences\n\n", Paragraph(d.likely_consequences), "\n");
  absl::StrAppend(&md, "### Measures taken or proposed\n\n", Paragraph(d.measures_taken), "\n");
  md += "## Documentation (Art. 33(5))\n\n";
  absl::StrAppend(&md, "### Circumstances\n\n", Paragraph(d.circumstances), "\n");
  absl::StrAppend(&md, "### Effect\n\n", Paragraph(d.effect), "\n");
  absl::StrAppend(&md, "### Corrective actions\n\n", Paragraph(d.corrective_actions), "\n");
  md += "## Risk assessment and informing data subjects (Art. 34)\n\n";
  absl::StrAppend(&md, "- Risk to the rights and freedoms of people: **",
                  RiskAssessmentName(d.risk), "**\n");
  absl::StrAppend(&md, "- Decision on informing data subjects: **",
                  SubjectDecisionName(d.subject_decision), "**\n\n");
  absl::StrAppend(&md, "### Risk rationale\n\n", Paragraph(d.risk_rationale), "\n");
  absl::StrAppend(&md, "### Reason for the decision\n\n", Paragraph(d.subject_decision_reason),
                  "\n");

  md += "## Affected controllers\n\n";
  md +=
      "| Tenant | Aware | Due (72 h) | Controller notified | Authority notified | Subjects "
      "notified | Overdue |\n|---|---|---|---|---|---|---|\n";
  for (const auto& t : b.affected_tenants) {
    absl::StrAppend(&md, "| ", Cell(t.tenant), " | ", Rfc3339(t.aware_at), " | ", Rfc3339(t.due_at),
                    " | ", When(t.controller_notified_at), " | ", When(t.authority_notified_at),
                    " | ", When(t.subjects_notified_at), " | ", t.overdue ? "**yes**" : "no",
                    " |\n");
  }
  md += "\n### Clocks towards the authority (Art. 33(1)) and the data subjects (Art. 34)\n\n";
  md += "| Tenant | Clock | State | Started | Due | Exempt since |\n|---|---|---|---|---|---|\n";
  for (const auto& t : b.affected_tenants) {
    auto row = [&](const char* name, const TenantClock& c, ClockState state) {
      absl::StrAppend(&md, "| ", Cell(t.tenant), " | ", name, " | ", ClockStateName(state), " | ",
                      When(c.start_at), " | ", When(c.due_at), " | ", When(c.exempt_at), " |\n");
    };
    row("supervisory authority", t.authority, AuthorityClockState(t));
    row("data subjects", t.subjects, SubjectClockState(t, b.current_risk));
  }
  md +=
      "\nAn exempt authority clock rests on the risk rationale above (no risk, Art. 33(1)); an "
      "exempt data-subject clock on the reason for the decision (Art. 34(3)(a) or (b)).\n";
  md += "\n## Notifications\n\n";
  if (b.notifications.empty()) {
    md += "_(none recorded)_\n\n";
  } else {
    md +=
        "| When | Tenant | Recipient | Channel | Reference | Content version | Late | Reason "
        "for delay |\n|---|---|---|---|---|---|---|---|\n";
    for (const auto& n : b.notifications) {
      absl::StrAppend(&md, "| ", Rfc3339(n.notified_at), " | ", Cell(n.tenant), " | ",
                      RecipientName(n.recipient), " | ", Cell(n.channel), " | ", Cell(n.reference),
                      " | ", n.content_version, " | ", n.late ? "yes" : "no", " | ",
                      Cell(n.delay_reason), " |\n");
    }
    md += "\n";
  }
  if (b.state == BreachState::kOpen) {
    md += "## Open items\n\n";
    auto items = CloseViolations(b);
    if (items.empty()) md += "_(none: the breach may be closed)_\n";
    for (const auto& v : items) absl::StrAppend(&md, "- ", EscapeMarkdown(v.description), "\n");
    md += "\n";
  } else if (!b.close_note.empty()) {
    absl::StrAppend(&md, "## Closing note\n\n", Paragraph(b.close_note), "\n");
  }
  md += "## Version history (Art. 33(4))\n\n";
  for (const auto& v : b.versions) {
    absl::StrAppend(
        &md, "- Version ", v.version, ", ", Rfc3339(v.recorded_at), ", ", Cell(v.author), ": ",
        v.changed_fields.empty()
            ? "no field changed"
            : absl::StrCat("changed ", EscapeMarkdown(absl::StrJoin(v.changed_fields, ", "))));
    if (!v.change_note.empty()) absl::StrAppend(&md, " (", Cell(v.change_note), ")");
    md += "\n";
  }
  return md;
}

}  // namespace dsar::breach
