// lib/breach/breach_validation: field bounds, the invariants every version
// keeps and the close preconditions, as pure functions.
#include "lib/breach/breach_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/unit/breach/breach_fixture.h"

namespace dsar::breach {
namespace {

using ::dsar::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

std::vector<std::string> FieldsOf(const FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& v : errors.violations()) out.push_back(v.field);
  return out;
}

std::vector<std::string> Check(const BreachDetails& d) {
  FieldErrors errors;
  CheckDetailFields(d, DetailFieldNames(), "details.", kNow, errors);
  return FieldsOf(errors);
}

TEST(BreachValidationTest, CompleteDetailsPassEveryFieldCheck) {
  BreachDetails d = testing::CompleteDetails();
  d.occurred_at = kNow - absl::Hours(1);
  EXPECT_THAT(Check(d), IsEmpty());
}

TEST(BreachValidationTest, TextAtItsBoundPassesAndOneByteMoreIsNamed) {
  BreachDetails d = testing::MinimalDetails();
  d.title = std::string(kMaxTitleLength, 't');
  d.nature = std::string(kMaxTextLength, 'n');
  d.contact_point = std::string(kMaxContactPointLength, 'c');
  EXPECT_THAT(Check(d), IsEmpty());
  d.title += "t";
  d.nature += "n";
  d.contact_point += "c";
  EXPECT_THAT(Check(d), ElementsAre("details.title", "details.nature", "details.contact_point"));
}

TEST(BreachValidationTest, ATitleMustBeOneLine) {
  BreachDetails d = testing::MinimalDetails();
  d.title = "two\nlines";
  EXPECT_THAT(Check(d), ElementsAre("details.title"));
}

TEST(BreachValidationTest, FreeTextMayHoldNewlinesButMustBeUtf8) {
  BreachDetails d = testing::MinimalDetails();
  d.effect = "line one\nline two \xc3\xa9";
  EXPECT_THAT(Check(d), IsEmpty());
  d.effect = "truncated \xc3";
  EXPECT_THAT(Check(d), ElementsAre("details.effect"));
}

TEST(BreachValidationTest, OverlongUtf8AndSurrogatesAreRejected) {
  FieldErrors errors;
  CheckText("overlong", "\xc0\xaf", 100, errors);
  CheckText("surrogate", "\xed\xa0\x80", 100, errors);
  CheckText("beyond", "\xf4\x90\x80\x80", 100, errors);
  CheckText("four_bytes", "\xf0\x9f\x98\x80", 100, errors);
  EXPECT_THAT(FieldsOf(errors), ElementsAre("overlong", "surrogate", "beyond"));
}

TEST(BreachValidationTest, ALabelRejectsControlCharactersAndDelete) {
  FieldErrors errors;
  CheckLabel("tab", "a\tb", 100, errors);
  CheckLabel("del", "a\x7f", 100, errors);
  CheckLabel("ok", "a b-c", 100, errors);
  CheckLabel("long", "abcd", 3, errors);
  EXPECT_THAT(FieldsOf(errors), ElementsAre("tab", "del", "long"));
  EXPECT_THAT(errors.violations()[2].description, HasSubstr("at most 3 bytes"));
}

TEST(BreachValidationTest, ListEntriesAreNamedByIndexWhenEmptyDuplicateOrTooLong) {
  BreachDetails d = testing::MinimalDetails();
  d.subject_categories = {"customers", "", "customers", std::string(kMaxEntryLength + 1, 'x')};
  EXPECT_THAT(Check(d),
              ElementsAre("details.subject_categories[1]", "details.subject_categories[2]",
                          "details.subject_categories[3]"));
}

TEST(BreachValidationTest, AListOfMoreThanFiftyEntriesIsNamedOnce) {
  BreachDetails d = testing::MinimalDetails();
  for (size_t i = 0; i < kMaxListEntries; ++i) d.affected_systems.push_back(absl::StrCat("s", i));
  EXPECT_THAT(Check(d), IsEmpty());
  d.affected_systems.push_back("one-more");
  EXPECT_THAT(Check(d), ElementsAre("details.affected_systems"));
}

TEST(BreachValidationTest, CountsMustLieBetweenZeroAndTenToTheThirteenth) {
  BreachDetails d = testing::MinimalDetails();
  d.approx_subject_count = 0;
  d.approx_record_count = kMaxCount;
  EXPECT_THAT(Check(d), IsEmpty());
  d.approx_subject_count = -1;
  d.approx_record_count = kMaxCount + 1;
  EXPECT_THAT(Check(d), ElementsAre("details.approx_subject_count", "details.approx_record_count"));
}

TEST(BreachValidationTest, UnknownAndDuplicateTypesAreNamedByIndex) {
  BreachDetails d = testing::MinimalDetails();
  d.types = {BreachType::kIntegrity, BreachType::kUnspecified, BreachType::kIntegrity,
             static_cast<BreachType>(4)};
  EXPECT_THAT(Check(d), ElementsAre("details.types[1]", "details.types[2]", "details.types[3]"));
}

TEST(BreachValidationTest, UnknownRiskAndDecisionValuesAreNamed) {
  BreachDetails d = testing::MinimalDetails();
  d.risk = static_cast<RiskAssessment>(4);
  d.subject_decision = static_cast<SubjectDecision>(6);
  EXPECT_THAT(Check(d),
              ElementsAre("details.risk_assessment", "details.subject_notification_decision"));
}

TEST(BreachValidationTest, OccurrenceMayBeFiveMinutesAheadOfNowButNotMoreNorBefore1970) {
  BreachDetails d = testing::MinimalDetails();
  d.occurred_at = kNow + kClockSkew;
  EXPECT_THAT(Check(d), IsEmpty());
  d.occurred_at = kNow + kClockSkew + absl::Seconds(1);
  EXPECT_THAT(Check(d), ElementsAre("details.occur_time"));
  d.occurred_at = absl::UnixEpoch() - absl::Seconds(1);
  EXPECT_THAT(Check(d), ElementsAre("details.occur_time"));
}

TEST(BreachValidationTest, OnlyTheNamedFieldsAreChecked) {
  BreachDetails d = testing::MinimalDetails();
  d.title = std::string(kMaxTitleLength + 1, 't');
  d.effect = "bad \xff";
  FieldErrors errors;
  CheckDetailFields(d, {"effect"}, "x.", kNow, errors);
  EXPECT_THAT(FieldsOf(errors), ElementsAre("x.effect"));
}

TEST(BreachValidationTest, EveryVersionNeedsTitleAndNature) {
  FieldErrors errors;
  CheckDetailInvariants(BreachDetails{}, kNow, "details.", errors);
  EXPECT_THAT(FieldsOf(errors), ElementsAre("details.title", "details.nature"));
}

TEST(BreachValidationTest, OccurrenceAfterAwarenessBreaksTheInvariant) {
  BreachDetails d = testing::MinimalDetails();
  d.occurred_at = kNow;
  FieldErrors ok;
  CheckDetailInvariants(d, kNow, "", ok);
  EXPECT_TRUE(ok.empty());
  d.occurred_at = kNow + absl::Seconds(1);
  FieldErrors errors;
  CheckDetailInvariants(d, kNow, "", errors);
  EXPECT_THAT(FieldsOf(errors), ElementsAre("occur_time"));
}

TEST(BreachValidationTest, NoRiskNeedsItsRationaleBecauseItClosesTheAuthorityClock) {
  BreachDetails d = testing::MinimalDetails();
  d.risk = RiskAssessment::kNoRisk;
  FieldErrors errors;
  CheckDetailInvariants(d, kNow, "details.", errors);
  EXPECT_THAT(FieldsOf(errors), ElementsAre("details.risk_rationale"));
  d.risk = RiskAssessment::kRisk;  // other assessments need no rationale
  FieldErrors none;
  CheckDetailInvariants(d, kNow, "details.", none);
  EXPECT_TRUE(none.empty());
}

TEST(BreachValidationTest, AnArt34ExemptionNeedsItsReasonButOtherDecisionsDoNot) {
  for (SubjectDecision dec :
       {SubjectDecision::kExemptProtected, SubjectDecision::kExemptMitigated}) {
    BreachDetails d = testing::MinimalDetails();
    d.subject_decision = dec;
    FieldErrors errors;
    CheckDetailInvariants(d, kNow, "details.", errors);
    EXPECT_THAT(FieldsOf(errors), ElementsAre("details.subject_notification_reason"))
        << SubjectDecisionName(dec);
  }
  for (SubjectDecision dec : {SubjectDecision::kNotify, SubjectDecision::kNotRequired,
                              SubjectDecision::kPublicCommunication}) {
    BreachDetails d = testing::MinimalDetails();
    d.subject_decision = dec;
    FieldErrors errors;
    CheckDetailInvariants(d, kNow, "details.", errors);
    EXPECT_TRUE(errors.empty()) << SubjectDecisionName(dec);
  }
}

Breach ClosableBreach() {
  Breach b;
  b.breach_id = "br_1";
  b.state = BreachState::kOpen;
  b.processor_reported = true;
  b.details = testing::CompleteDetails();
  AffectedTenant t;
  t.tenant = "tenant-a";
  t.controller_notified_at = kNow;
  t.authority_notified_at = kNow;
  b.affected_tenants.push_back(t);
  return b;
}

TEST(CloseViolationsTest, ABreachWithEverythingRecordedMayClose) {
  EXPECT_THAT(CloseViolations(ClosableBreach()), IsEmpty());
}

TEST(CloseViolationsTest, EmptyDetailsListEveryMissingArt33FieldAndTheMissingNotifications) {
  Breach b = ClosableBreach();
  b.details = testing::MinimalDetails();
  b.affected_tenants[0].controller_notified_at.reset();
  b.affected_tenants[0].authority_notified_at.reset();
  const auto v = CloseViolations(b);
  std::vector<std::string> types;
  for (const auto& x : v) types.push_back(x.type);
  EXPECT_EQ(std::count(types.begin(), types.end(), "MISSING_FIELD"), 13);
  EXPECT_THAT(
      v, Contains(Field(&PreconditionViolation::description, HasSubstr("details.contact_point"))));
  EXPECT_THAT(v, Contains(Field(&PreconditionViolation::description,
                                HasSubstr("details.corrective_actions"))));
  EXPECT_THAT(v, Contains(Field(&PreconditionViolation::subject,
                                "breaches/br_1/tenants/tenant-a/controller")));
  EXPECT_THAT(v, Contains(Field(&PreconditionViolation::subject,
                                "breaches/br_1/tenants/tenant-a/supervisory_authority")));
  EXPECT_EQ(v.size(), 15u);
}

TEST(CloseViolationsTest, HighRiskWithDecisionNotRequiredIsASubjectNotificationViolation) {
  Breach b = ClosableBreach();
  b.details.risk = RiskAssessment::kHighRisk;
  b.details.subject_decision = SubjectDecision::kNotRequired;
  const auto v = CloseViolations(b);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].type, "SUBJECT_NOTIFICATION");
  EXPECT_EQ(v[0].subject, "breaches/br_1");
}

TEST(CloseViolationsTest, ANotifyDecisionNeedsADataSubjectNotificationPerTenant) {
  Breach b = ClosableBreach();
  b.details.risk = RiskAssessment::kHighRisk;
  b.details.subject_decision = SubjectDecision::kNotify;
  AffectedTenant second = b.affected_tenants[0];
  second.tenant = "tenant-b";
  second.subjects_notified_at = kNow;
  b.affected_tenants.push_back(second);
  const auto v = CloseViolations(b);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].type, "MISSING_NOTIFICATION");
  EXPECT_EQ(v[0].subject, "breaches/br_1/tenants/tenant-a/data_subjects");
}

TEST(CloseViolationsTest, NoRiskNeedsNoAuthorityNotification) {
  Breach b = ClosableBreach();
  b.details.risk = RiskAssessment::kNoRisk;
  b.affected_tenants[0].authority_notified_at.reset();
  EXPECT_THAT(CloseViolations(b), IsEmpty());
}

TEST(CloseViolationsTest, AControllerReportedBreachNeedsNoControllerNotification) {
  Breach b = ClosableBreach();
  b.processor_reported = false;
  b.affected_tenants[0].controller_notified_at.reset();
  EXPECT_THAT(CloseViolations(b), IsEmpty());
}

TEST(CloseViolationsTest, AZeroCountIsAKnownCountNotAMissingOne) {
  Breach b = ClosableBreach();
  b.details.approx_record_count = 0;
  EXPECT_THAT(CloseViolations(b), IsEmpty());
  b.details.approx_record_count.reset();
  ASSERT_EQ(CloseViolations(b).size(), 1u);
  EXPECT_THAT(CloseViolations(b)[0].description, HasSubstr("approx_record_count"));
}

}  // namespace
}  // namespace dsar::breach
