// lib/breach/breach_report: the Art. 33(5) documentation as JSON and
// Markdown, rendered from a breach value (no store).
#include "lib/breach/breach_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/unit/breach/breach_fixture.h"

namespace dsar::breach {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

class BreachReportTest : public ::testing::Test {
 protected:
  BreachReportTest() {
    b_.breach_id = "br_1";
    b_.owner_tenant = "tenant-a";
    b_.state = BreachState::kOpen;
    b_.aware_at = kT0;
    b_.reported_at = kT0 + absl::Minutes(30);
    b_.reported_by = "processor-dpo";
    b_.processor_reported = true;
    b_.version = b_.current_version = 2;
    b_.details =
        testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kExemptMitigated);
    b_.details.occurred_at = kT0 - absl::Hours(6);
    b_.details.types = {BreachType::kConfidentiality, BreachType::kAvailability};
    b_.current_risk = RiskAssessment::kHighRisk;
    AffectedTenant t;
    t.tenant = "tenant-a";
    t.aware_at = kT0;
    t.due_at = kT0 + absl::Hours(72);
    t.controller_notified_at = kT0 + absl::Hours(2);
    t.authority.start_at = kT0 + absl::Hours(2);
    t.authority.due_at = kT0 + absl::Hours(74);
    t.subjects.start_at = kT0 + absl::Hours(3);
    t.subjects.due_at = kT0 + absl::Hours(75);
    t.subjects.exempt_at = kT0 + absl::Hours(3);
    b_.affected_tenants.push_back(t);
    Notification n;
    n.notification_id = "bn_1";
    n.breach_id = "br_1";
    n.tenant = "tenant-a";
    n.recipient = Recipient::kController;
    n.notified_at = kT0 + absl::Hours(2);
    n.channel = "email";
    n.reference = "case-7";
    n.content_version = 1;
    n.recorded_by = "processor-dpo";
    n.recorded_at = kT0 + absl::Hours(2);
    b_.notifications.push_back(n);
    BreachVersion v1{1,  testing::MinimalDetails(), {"title", "nature"},
                     "", "processor-dpo",           kT0 + absl::Minutes(30)};
    BreachVersion v2{2,          b_.details,      {"effect", "risk_assessment"},
                     "assessed", "processor-dpo", kT0 + absl::Hours(3)};
    b_.versions = {v1, v2};
  }

  json Json(absl::string_view controller = "tenant-a") {
    return json::parse(RenderReportJson(b_, controller, kT0 + absl::Hours(4)));
  }

  Breach b_;
};

TEST_F(BreachReportTest, JsonCarriesTheArt33Section3ContentUnderTheProtoFieldNames) {
  const json j = Json();
  const json& d = j["details"];
  EXPECT_EQ(d["nature"], b_.details.nature);
  EXPECT_EQ(d["types"], json::array({"confidentiality", "availability"}));
  EXPECT_EQ(d["subject_categories"], json::array({"customers"}));
  EXPECT_EQ(d["approx_subject_count"], 120);
  EXPECT_EQ(d["record_categories"], json::array({"contact details"}));
  EXPECT_EQ(d["approx_record_count"], 240);
  EXPECT_EQ(d["contact_point"], b_.details.contact_point);
  EXPECT_EQ(d["likely_consequences"], b_.details.likely_consequences);
  EXPECT_EQ(d["measures_taken"], b_.details.measures_taken);
  EXPECT_EQ(d["occur_time"], "2025-12-31T18:00:00Z");
}

TEST_F(BreachReportTest, JsonCarriesTheArt33Section5FactsEffectsAndRemedialAction) {
  const json j = Json();
  EXPECT_EQ(j["details"]["circumstances"], b_.details.circumstances);
  EXPECT_EQ(j["details"]["effect"], b_.details.effect);
  EXPECT_EQ(j["details"]["corrective_actions"], b_.details.corrective_actions);
  EXPECT_EQ(j["details"]["risk_assessment"], "high_risk");
  EXPECT_EQ(j["details"]["subject_notification_decision"], "exempt_mitigated");
  EXPECT_EQ(j["details"]["subject_notification_reason"], "Synthetic reason.");
}

TEST_F(BreachReportTest, JsonNamesTheBreachTheControllerAndTheTimes) {
  const json j = Json();
  EXPECT_EQ(j["breach"], "breaches/br_1");
  EXPECT_EQ(j["controller"], "tenant-a");
  EXPECT_EQ(j["generated_at"], "2026-01-01T04:00:00Z");
  EXPECT_EQ(j["aware_time"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(j["report_time"], "2026-01-01T00:30:00Z");
  EXPECT_EQ(j["state"], "open");
  EXPECT_EQ(j["processor_reported"], true);
  EXPECT_EQ(j["version"], 2);
  EXPECT_TRUE(Json("")["controller"].is_null());
}

TEST_F(BreachReportTest, JsonShowsEachTenantsClocksWithTheirStates) {
  const json t = Json()["affected_tenants"][0];
  EXPECT_EQ(t["tenant"], "tenant-a");
  EXPECT_EQ(t["notification_due_time"], "2026-01-04T00:00:00Z");
  EXPECT_EQ(t["controller_notify_time"], "2026-01-01T02:00:00Z");
  EXPECT_TRUE(t["authority_notify_time"].is_null());
  EXPECT_EQ(t["authority_clock"]["state"], "open");
  EXPECT_EQ(t["authority_clock"]["due_time"], "2026-01-04T02:00:00Z");
  EXPECT_TRUE(t["authority_clock"]["exempt_time"].is_null());
  EXPECT_EQ(t["subject_clock"]["state"], "exempt");
  EXPECT_EQ(t["subject_clock"]["exempt_time"], "2026-01-01T03:00:00Z");
}

TEST_F(BreachReportTest, JsonListsNotificationsVersionsAndOpenItems) {
  const json j = Json();
  ASSERT_EQ(j["notifications"].size(), 1u);
  EXPECT_EQ(j["notifications"][0]["name"], "breaches/br_1/notifications/bn_1");
  EXPECT_EQ(j["notifications"][0]["recipient"], "controller");
  EXPECT_EQ(j["notifications"][0]["late"], false);
  // Art. 33(4): every version, oldest first, with what changed.
  ASSERT_EQ(j["versions"].size(), 2u);
  EXPECT_EQ(j["versions"][0]["version"], 1);
  EXPECT_EQ(j["versions"][1]["changed_fields"], json::array({"effect", "risk_assessment"}));
  EXPECT_EQ(j["versions"][1]["change_note"], "assessed");
  EXPECT_EQ(j["versions"][0]["details"]["effect"], "");
  // The authority has not been notified yet.
  ASSERT_EQ(j["open_items"].size(), 1u);
  EXPECT_EQ(j["open_items"][0]["type"], "MISSING_NOTIFICATION");
  EXPECT_EQ(j["open_items"][0]["subject"], "breaches/br_1/tenants/tenant-a/supervisory_authority");
}

TEST_F(BreachReportTest, AClosedBreachHasNoOpenItemsAndShowsWhoClosedIt) {
  b_.state = BreachState::kClosed;
  b_.closed_at = kT0 + absl::Hours(10);
  b_.closed_by = "processor-dpo";
  b_.close_note = "Synthetic close note.";
  const json j = Json();
  EXPECT_TRUE(j["open_items"].empty());
  EXPECT_EQ(j["close_time"], "2026-01-01T10:00:00Z");
  EXPECT_EQ(j["close_note"], "Synthetic close note.");
  const std::string md = RenderReportMarkdown(b_, "tenant-a", kT0);
  EXPECT_THAT(md, HasSubstr("## Closing note\n\nSynthetic close note.\n"));
  EXPECT_THAT(md, Not(HasSubstr("## Open items")));
}

TEST_F(BreachReportTest, JsonOfInvalidUtf8IsStillValidJson) {
  b_.details.effect = "bad \xff byte";
  const std::string out = RenderReportJson(b_, "", kT0);
  EXPECT_NO_THROW(json::parse(out));
}

TEST_F(BreachReportTest, MarkdownHasTheArt33SectionsInOrder) {
  const std::string md = RenderReportMarkdown(b_, "tenant-a", kT0 + absl::Hours(4));
  const std::vector<std::string> sections = {
      "# Personal data breach: Misconfigured storage bucket",
      "## Notification content (Art. 33(3))",
      "### Nature of the breach",
      "### Contact point",
      "### Likely consequences",
      "### Measures taken or proposed",
      "## Documentation (Art. 33(5))",
      "### Circumstances",
      "### Effect",
      "### Corrective actions",
      "## Risk assessment and informing data subjects (Art. 34)",
      "## Affected controllers",
      "## Notifications",
      "## Open items",
      "## Version history (Art. 33(4))"};
  size_t at = 0;
  for (const auto& s : sections) {
    const size_t found = md.find(s, at);
    ASSERT_NE(found, std::string::npos) << "missing or out of order: " << s;
    at = found + s.size();
  }
  EXPECT_THAT(md, HasSubstr("for controller `tenant-a`"));
  EXPECT_THAT(md, HasSubstr("- Approximate number of data subjects: about 120\n"));
  EXPECT_THAT(md, HasSubstr("- Type: confidentiality, availability\n"));
  EXPECT_THAT(md, HasSubstr("Risk to the rights and freedoms of people: **high_risk**"));
  EXPECT_THAT(md, HasSubstr("| tenant-a | data subjects | exempt |"));
  EXPECT_THAT(md, HasSubstr("- Version 2, 2026-01-01T03:00:00Z, processor-dpo: changed effect, "
                            "risk\\_assessment (assessed)\n"));
}

TEST_F(BreachReportTest, MarkdownMarksWhatIsNotYetRecorded) {
  b_.details = testing::MinimalDetails();
  b_.notifications.clear();
  const std::string md = RenderReportMarkdown(b_, "", kT0);
  EXPECT_THAT(md, HasSubstr("for every affected controller"));
  EXPECT_THAT(md, HasSubstr("### Contact point\n\n_(not yet recorded)_\n"));
  EXPECT_THAT(md, HasSubstr("- Approximate number of records: _(not yet known)_\n"));
  EXPECT_THAT(md, HasSubstr("## Notifications\n\n_(none recorded)_\n"));
}

TEST_F(BreachReportTest, CallerTextCannotInjectHtmlOrMarkdownStructure) {
  b_.details.title = "<script>x</script> | # [link](y)";
  b_.details.effect = "# Heading\n<img src=x>\n**bold**";
  b_.notifications[0].reference = "a|b";
  const std::string md = RenderReportMarkdown(b_, "tenant-a", kT0);
  EXPECT_THAT(md, Not(HasSubstr("<script>")));
  EXPECT_THAT(md, Not(HasSubstr("<img")));
  EXPECT_THAT(md, Not(HasSubstr("\n# Heading")));
  EXPECT_THAT(md, HasSubstr("&lt;script&gt;x&lt;/script&gt; \\| \\# \\[link\\](y)"));
  EXPECT_THAT(md, HasSubstr("\\# Heading  \n&lt;img src=x&gt;  \n\\*\\*bold\\*\\*\n"));
  EXPECT_THAT(md, HasSubstr("| a\\|b |"));
}

TEST_F(BreachReportTest, CallerTextCannotOpenListsHeadingsOrCodeBlocksAtALineStart) {
  b_.details.effect = "Synthetic effect\n===\n- not a list\n1. not a list\n\n    not code\n---";
  const std::string md = RenderReportMarkdown(b_, "tenant-a", kT0);
  EXPECT_THAT(md, Not(HasSubstr("\n===")));  // a setext heading underline
  EXPECT_THAT(md, Not(HasSubstr("\n- not a list")));
  EXPECT_THAT(md, Not(HasSubstr("\n1. not a list")));
  EXPECT_THAT(md, Not(HasSubstr("\n    not code")));  // indented code after a blank line
  EXPECT_THAT(md, Not(HasSubstr("\n---\n")));         // a thematic break
  EXPECT_THAT(md, HasSubstr("### Effect\n\nSynthetic effect  \n\\===  \n\\- not a list  \n"
                            "1\\. not a list  \n  \n&#32;   not code  \n\\---\n"));
}

TEST(EscapeMarkdownTest, NeutralisesBlockMarkersOnlyAtTheStartOfALine) {
  EXPECT_EQ(EscapeMarkdown("- item"), "\\- item");
  EXPECT_EQ(EscapeMarkdown("+ item"), "\\+ item");
  EXPECT_EQ(EscapeMarkdown("a\n==="), "a\n\\===");
  EXPECT_EQ(EscapeMarkdown("a\r\n---"), "a\r\n\\---");
  EXPECT_EQ(EscapeMarkdown("1. first"), "1\\. first");
  EXPECT_EQ(EscapeMarkdown("a\n12) x"), "a\n12\\) x");
  EXPECT_EQ(EscapeMarkdown("a\n\n    code"), "a\n\n&#32;   code");
  EXPECT_EQ(EscapeMarkdown("\tcode"), "&#9;code");
  EXPECT_EQ(EscapeMarkdown("2026 was a year"), "2026 was a year");
  EXPECT_EQ(EscapeMarkdown("well-known - 1. a+b=c"), "well-known - 1. a+b=c");
}

TEST(EscapeMarkdownTest, EscapesEveryStructuralCharacterAndLeavesOthers) {
  EXPECT_EQ(EscapeMarkdown("a&b<c>d"), "a&amp;b&lt;c&gt;d");
  EXPECT_EQ(EscapeMarkdown("\\`*_[]|#~!"), "\\\\\\`\\*\\_\\[\\]\\|\\#\\~\\!");
  EXPECT_EQ(EscapeMarkdown("plain text, 1.5 (ok) \xc3\xa9"), "plain text, 1.5 (ok) \xc3\xa9");
}

}  // namespace
}  // namespace dsar::breach
