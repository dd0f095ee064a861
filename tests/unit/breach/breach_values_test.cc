// lib/breach/breach.h without a store: stable names, the detail-field helpers
// phased updates rely on, breach names, the recipients a close needs, clock
// states and the overdue rule.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/breach/breach.h"
#include "lib/breach/breach_details.h"
#include "lib/breach/breach_rows.h"
#include "tests/unit/breach/breach_fixture.h"

namespace dsar::breach {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

TEST(BreachNamesTest, EnumValuesHaveTheStableLowerCaseNamesReportsStore) {
  EXPECT_STREQ(BreachStateName(BreachState::kOpen), "open");
  EXPECT_STREQ(BreachStateName(BreachState::kClosed), "closed");
  EXPECT_STREQ(BreachTypeName(BreachType::kAvailability), "availability");
  EXPECT_STREQ(RiskAssessmentName(RiskAssessment::kHighRisk), "high_risk");
  EXPECT_STREQ(RiskAssessmentName(RiskAssessment::kNoRisk), "no_risk");
  EXPECT_STREQ(SubjectDecisionName(SubjectDecision::kPublicCommunication), "public_communication");
  EXPECT_STREQ(SubjectDecisionName(SubjectDecision::kExemptProtected), "exempt_protected");
  EXPECT_STREQ(RecipientName(Recipient::kSupervisoryAuthority), "supervisory_authority");
  EXPECT_STREQ(RecipientName(Recipient::kDataSubjects), "data_subjects");
  EXPECT_STREQ(ClockStateName(ClockState::kNotStarted), "not_started");
  EXPECT_STREQ(ClockStateName(ClockState::kNotRequired), "not_required");
}

TEST(BreachNamesTest, UnknownEnumValuesAreNamedUnspecified) {
  EXPECT_STREQ(BreachTypeName(static_cast<BreachType>(42)), "unspecified");
  EXPECT_STREQ(RecipientName(Recipient::kUnspecified), "unspecified");
  EXPECT_STREQ(ClockStateName(static_cast<ClockState>(42)), "unspecified");
}

TEST(BreachIdFromNameTest, AcceptsOnlyBreachesSlashASafeId) {
  EXPECT_EQ(BreachIdFromName("breaches/br_AZaz09-_"), "br_AZaz09-_");
  EXPECT_EQ(BreachIdFromName("breaches/"), "");
  EXPECT_EQ(BreachIdFromName("breach/br_1"), "");
  EXPECT_EQ(BreachIdFromName("breaches/br_1/notifications/bn_1"), "");
  EXPECT_EQ(BreachIdFromName("breaches/br 1"), "");
  EXPECT_EQ(BreachIdFromName("breaches/" + std::string(64, 'a')), std::string(64, 'a'));
  EXPECT_EQ(BreachIdFromName("breaches/" + std::string(65, 'a')), "");
}

TEST(BreachNamesTest, ResourceNamesFollowTheCollections) {
  Breach b;
  b.breach_id = "br_1";
  Notification n;
  n.breach_id = "br_1";
  n.notification_id = "bn_2";
  EXPECT_EQ(b.name(), "breaches/br_1");
  EXPECT_EQ(n.name(), "breaches/br_1/notifications/bn_2");
}

TEST(DetailFieldsTest, NamesTheNineteenProtoFieldsInDeclarationOrder) {
  const auto& names = DetailFieldNames();
  ASSERT_EQ(names.size(), 19u);
  EXPECT_EQ(names.front(), "title");
  EXPECT_EQ(names[3], "occur_time");
  EXPECT_EQ(names[15], "risk_assessment");
  EXPECT_EQ(names.back(), "subject_notification_reason");
  for (const auto& n : names) EXPECT_TRUE(IsDetailField(n)) << n;
  EXPECT_FALSE(IsDetailField("risk"));
  EXPECT_FALSE(IsDetailField("aware_time"));
  EXPECT_FALSE(IsDetailField(""));
}

TEST(DetailFieldsTest, AnEmptyDetailsValueHasNoSetField) {
  EXPECT_THAT(SetDetailFields(BreachDetails{}), IsEmpty());
}

TEST(DetailFieldsTest, CompleteDetailsHaveEveryFieldSet) {
  BreachDetails d = testing::CompleteDetails();
  d.occurred_at = kT0;
  EXPECT_EQ(SetDetailFields(d), DetailFieldNames());
}

TEST(DetailFieldsTest, SetFieldsListsOnlyFieldsHoldingAValueInDeclarationOrder) {
  BreachDetails d;
  d.subject_decision = SubjectDecision::kNotify;
  d.approx_record_count = 0;  // zero is a value: "known to be none"
  d.title = "t";
  EXPECT_THAT(SetDetailFields(d),
              ElementsAre("title", "approx_record_count", "subject_notification_decision"));
}

TEST(DetailFieldsTest, CopyingEachNamedFieldCopiesExactlyThatField) {
  BreachDetails from =
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kExemptMitigated);
  from.occurred_at = kT0;
  for (const std::string& name : DetailFieldNames()) {
    BreachDetails to;
    CopyDetailField(name, from, &to);
    EXPECT_THAT(SetDetailFields(to), ElementsAre(name)) << name;
  }
}

TEST(DetailFieldsTest, CopyingAllFieldsReproducesTheSource) {
  BreachDetails from =
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kPublicCommunication);
  from.occurred_at = kT0 - absl::Hours(3);
  from.types = {BreachType::kIntegrity, BreachType::kAvailability};
  BreachDetails to;
  for (const std::string& name : DetailFieldNames()) CopyDetailField(name, from, &to);
  EXPECT_EQ(to.title, from.title);
  EXPECT_EQ(to.types, from.types);
  EXPECT_EQ(to.occurred_at, from.occurred_at);
  EXPECT_EQ(to.approx_subject_count, from.approx_subject_count);
  EXPECT_EQ(to.risk, RiskAssessment::kHighRisk);
  EXPECT_EQ(to.subject_decision, SubjectDecision::kPublicCommunication);
  EXPECT_EQ(to.subject_decision_reason, from.subject_decision_reason);
  EXPECT_EQ(SetDetailFields(to), SetDetailFields(from));
}

TEST(DetailFieldsTest, CopyingAnUnsetFieldClearsIt) {
  BreachDetails to = testing::CompleteDetails();
  CopyDetailField("approx_subject_count", BreachDetails{}, &to);
  CopyDetailField("effect", BreachDetails{}, &to);
  EXPECT_FALSE(to.approx_subject_count.has_value());
  EXPECT_TRUE(to.effect.empty());
  EXPECT_EQ(to.title, testing::CompleteDetails().title);
}

TEST(DetailFieldsTest, CopyingAnUnknownNameChangesNothing) {
  BreachDetails to = testing::MinimalDetails();
  CopyDetailField("not_a_field", testing::CompleteDetails(), &to);
  EXPECT_THAT(SetDetailFields(to), ElementsAre("title", "nature"));
}

TEST(RequiredRecipientsTest, AProcessorReportedRiskyBreachNeedsTheControllerAndTheAuthority) {
  EXPECT_THAT(RequiredRecipients(true, RiskAssessment::kRisk, SubjectDecision::kNotRequired),
              ElementsAre(Recipient::kController, Recipient::kSupervisoryAuthority));
}

TEST(RequiredRecipientsTest, AnUnassessedRiskIsAssumedToNeedTheAuthority) {
  EXPECT_THAT(
      RequiredRecipients(false, RiskAssessment::kUnspecified, SubjectDecision::kUnspecified),
      ElementsAre(Recipient::kSupervisoryAuthority));
}

TEST(RequiredRecipientsTest, NoRiskNeedsNoAuthorityNotification) {
  EXPECT_THAT(RequiredRecipients(false, RiskAssessment::kNoRisk, SubjectDecision::kNotRequired),
              IsEmpty());
  EXPECT_THAT(RequiredRecipients(true, RiskAssessment::kNoRisk, SubjectDecision::kNotRequired),
              ElementsAre(Recipient::kController));
}

TEST(RequiredRecipientsTest, NotifyAndPublicCommunicationNeedADataSubjectNotification) {
  for (SubjectDecision d : {SubjectDecision::kNotify, SubjectDecision::kPublicCommunication}) {
    EXPECT_THAT(RequiredRecipients(false, RiskAssessment::kHighRisk, d),
                ElementsAre(Recipient::kSupervisoryAuthority, Recipient::kDataSubjects))
        << SubjectDecisionName(d);
  }
  for (SubjectDecision d : {SubjectDecision::kExemptProtected, SubjectDecision::kExemptMitigated,
                            SubjectDecision::kNotRequired}) {
    EXPECT_THAT(RequiredRecipients(false, RiskAssessment::kHighRisk, d),
                ElementsAre(Recipient::kSupervisoryAuthority))
        << SubjectDecisionName(d);
  }
}

TEST(AffectedTenantTest, NotifiedAtReturnsTheFirstNotificationOfEachRecipient) {
  AffectedTenant t;
  t.controller_notified_at = kT0;
  t.authority_notified_at = kT0 + absl::Hours(1);
  EXPECT_EQ(t.NotifiedAt(Recipient::kController), kT0);
  EXPECT_EQ(t.NotifiedAt(Recipient::kSupervisoryAuthority), kT0 + absl::Hours(1));
  EXPECT_EQ(t.NotifiedAt(Recipient::kDataSubjects), std::nullopt);
  EXPECT_EQ(t.NotifiedAt(Recipient::kUnspecified), std::nullopt);
}

TEST(ClockStateTest, AuthorityClockIsNotStartedOpenExemptOrMet) {
  AffectedTenant t;
  EXPECT_EQ(AuthorityClockState(t), ClockState::kNotStarted);
  t.authority.start_at = kT0;
  t.authority.due_at = kT0 + absl::Hours(72);
  EXPECT_EQ(AuthorityClockState(t), ClockState::kOpen);
  t.authority.exempt_at = kT0 + absl::Hours(1);
  EXPECT_EQ(AuthorityClockState(t), ClockState::kExempt);
  t.authority_notified_at = kT0 + absl::Hours(2);
  EXPECT_EQ(AuthorityClockState(t), ClockState::kMet);
}

TEST(ClockStateTest, SubjectClockIsNotRequiredOnceTheRiskIsNoLongerHigh) {
  AffectedTenant t;
  EXPECT_EQ(SubjectClockState(t, RiskAssessment::kHighRisk), ClockState::kNotStarted);
  t.subjects.start_at = kT0;
  t.subjects.due_at = kT0 + absl::Hours(72);
  EXPECT_EQ(SubjectClockState(t, RiskAssessment::kHighRisk), ClockState::kOpen);
  EXPECT_EQ(SubjectClockState(t, RiskAssessment::kRisk), ClockState::kNotRequired);
  t.subjects.exempt_at = kT0;
  EXPECT_EQ(SubjectClockState(t, RiskAssessment::kHighRisk), ClockState::kExempt);
  t.subjects_notified_at = kT0;
  EXPECT_EQ(SubjectClockState(t, RiskAssessment::kRisk), ClockState::kMet);
}

class NotificationOverdueTest : public ::testing::Test {
 protected:
  NotificationOverdueTest() {
    breach_.state = BreachState::kOpen;
    breach_.processor_reported = true;
    breach_.current_risk = RiskAssessment::kRisk;
    tenant_.aware_at = kT0;
    tenant_.due_at = kT0 + absl::Hours(72);
  }
  Breach breach_;
  AffectedTenant tenant_;
};

TEST_F(NotificationOverdueTest, AMissingControllerNotificationIsOverdueFromItsDueTimeOn) {
  EXPECT_FALSE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(72) - absl::Seconds(1)));
  EXPECT_TRUE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(72)));
  tenant_.controller_notified_at = kT0 + absl::Hours(80);
  EXPECT_FALSE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(100)));
}

TEST_F(NotificationOverdueTest, AControllerReportedBreachHasNoControllerClock) {
  breach_.processor_reported = false;
  EXPECT_FALSE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(100)));
}

TEST_F(NotificationOverdueTest, AClosedBreachIsNeverOverdue) {
  breach_.state = BreachState::kClosed;
  EXPECT_FALSE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(100)));
}

TEST_F(NotificationOverdueTest, AnOpenAuthorityClockPastDueIsOverdueUnlessTheRiskIsNone) {
  tenant_.controller_notified_at = kT0;
  tenant_.authority.start_at = kT0;
  tenant_.authority.due_at = kT0 + absl::Hours(72);
  EXPECT_FALSE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(71)));
  EXPECT_TRUE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(72)));
  breach_.current_risk = RiskAssessment::kNoRisk;
  EXPECT_FALSE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(72)));
}

TEST_F(NotificationOverdueTest, AnOpenSubjectClockPastDueIsOverdueOnlyWhileTheRiskIsHigh) {
  tenant_.controller_notified_at = kT0;
  tenant_.authority_notified_at = kT0;
  tenant_.subjects.start_at = kT0 + absl::Hours(10);
  tenant_.subjects.due_at = kT0 + absl::Hours(82);
  breach_.current_risk = RiskAssessment::kHighRisk;
  EXPECT_FALSE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(81)));
  EXPECT_TRUE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(82)));
  breach_.current_risk = RiskAssessment::kRisk;
  EXPECT_FALSE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(82)));
  breach_.current_risk = RiskAssessment::kHighRisk;
  tenant_.subjects.exempt_at = kT0 + absl::Hours(20);
  EXPECT_FALSE(NotificationOverdue(breach_, tenant_, kT0 + absl::Hours(82)));
}

// Stored versions keep their keys and encodings whatever the field table
// becomes: a golden copy of one fully populated version.
TEST(BreachDetailsStorageTest, StoredJsonKeepsItsKeysAndEncodings) {
  BreachDetails d = testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kNotify);
  d.types = {BreachType::kConfidentiality, BreachType::kAvailability};
  d.occurred_at = absl::FromUnixMicros(1'700'000'000'123'456);
  EXPECT_EQ(
      internal::DetailsToJson(d),
      R"({"affected_systems":["storage-eu-1"],"approx_record_count":240,)"
      R"("approx_subject_count":120,"circumstances":"A deployment changed the bucket policy.",)"
      R"("contact_point":"Data protection office, dpo@example.test",)"
      R"("corrective_actions":"Policy checks in the deployment pipeline.",)"
      R"("effect":"Objects were listed by one unknown client.",)"
      R"("likely_consequences":"Unsolicited messages.","measures_taken":"Access was revoked.",)"
      R"("nature":"A storage bucket was readable without authentication.",)"
      R"("occur_time_us":1700000000123456,"record_categories":["contact details"],)"
      R"("risk_assessment":3,"risk_rationale":"Synthetic rationale.",)"
      R"("subject_categories":["customers"],"subject_notification_decision":1,)"
      R"("subject_notification_reason":"Synthetic reason.",)"
      R"("title":"Misconfigured storage bucket","types":[1,3]})");
}

TEST(BreachDetailsStorageTest, StoredJsonRoundTripsEveryField) {
  BreachDetails d = testing::CompleteDetails();
  d.occurred_at = absl::FromUnixMicros(1'700'000'000'000'001);
  auto back = internal::DetailsFromJson(internal::DetailsToJson(d));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(internal::DetailsToJson(*back), internal::DetailsToJson(d));
  EXPECT_EQ(SetDetailFields(*back), DetailFieldNames());
  // Unset optionals stay unset.
  auto empty = internal::DetailsFromJson(internal::DetailsToJson(BreachDetails{}));
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(SetDetailFields(*empty), IsEmpty());
}

TEST(BreachDetailsStorageTest, AStoredVersionMissingAFieldIsAnError) {
  EXPECT_FALSE(internal::DetailsFromJson(R"({"title":"t"})").ok());
  EXPECT_FALSE(internal::DetailsFromJson("not json").ok());
}

// Unknown enum integers (an undeclared wire value) are not defined values.
TEST(BreachEnumTest, IsDefinedRejectsUndeclaredIntegers) {
  EXPECT_TRUE(IsDefined(RiskAssessment::kHighRisk));
  EXPECT_FALSE(IsDefined(static_cast<RiskAssessment>(4)));
  EXPECT_FALSE(IsDefined(static_cast<SubjectDecision>(-1)));
  EXPECT_FALSE(IsDefined(static_cast<BreachType>(9)));
  EXPECT_TRUE(IsDefined(Recipient::kDataSubjects));
}

}  // namespace
}  // namespace dsar::breach
