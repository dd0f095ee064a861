// lib/breach/breach_register on a real store with the fake clock: versions
// and phased updates (Art. 33(4)), notifications, close preconditions and
// who may change or see what. Not through gRPC.
#include "lib/breach/breach_register.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>

#include "lib/core/errors.h"
#include "tests/unit/breach/breach_fixture.h"

namespace dsar::breach {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::kTenantA;
using testing::kTenantB;

std::vector<std::string> FieldsOf(const absl::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : FieldViolationsOf(s)) out.push_back(v.field);
  return out;
}

std::vector<std::string> TypesOf(const absl::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : PreconditionViolationsOf(s)) out.push_back(v.type);
  return out;
}

class BreachVersionsTest : public testing::BreachRegisterTest {};

TEST_F(BreachVersionsTest, AReportStoresVersionOneWithItsSetFieldsAsChanged) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->version, 1);
  EXPECT_EQ(b->current_version, 1);
  EXPECT_EQ(b->state, BreachState::kOpen);
  EXPECT_TRUE(b->processor_reported);
  auto full = Get(Processor(), b->name());
  ASSERT_THAT(full, IsOk());
  ASSERT_EQ(full->versions.size(), 1u);
  EXPECT_EQ(full->versions[0].version, 1);
  EXPECT_THAT(full->versions[0].changed_fields, ElementsAre("title", "nature"));
  EXPECT_EQ(full->versions[0].author, "processor-dpo");
  EXPECT_EQ(full->versions[0].recorded_at, clock_.Now());
}

TEST_F(BreachVersionsTest, AnUpdateReplacesOnlyTheMaskedFieldsAndKeepsEveryVersionInOrder) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(2));
  BreachDetails phase2;
  phase2.title = "ignored: not in the mask";
  phase2.approx_subject_count = 40;
  phase2.effect = "Synthetic effect.";
  auto v2 = UpdateFields(Processor(), b->name(), phase2, {"effect", "approx_subject_count"},
                         "second phase");
  ASSERT_THAT(v2, IsOk());
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->details.title, testing::MinimalDetails().title);
  EXPECT_EQ(v2->details.approx_subject_count, 40);
  EXPECT_EQ(v2->details.effect, "Synthetic effect.");

  clock_.Advance(absl::Hours(2));
  // A masked path with an unset value clears the field (the count is unknown again).
  auto v3 = UpdateFields(Processor(), b->name(), BreachDetails{}, {"approx_subject_count"});
  ASSERT_THAT(v3, IsOk());
  EXPECT_FALSE(v3->details.approx_subject_count.has_value());
  EXPECT_EQ(v3->details.effect, "Synthetic effect.");

  auto full = Get(Processor(), b->name());
  ASSERT_THAT(full, IsOk());
  ASSERT_EQ(full->versions.size(), 3u);
  EXPECT_EQ(full->versions[1].version, 2);
  // Declaration order, whatever the order of the mask.
  EXPECT_THAT(full->versions[1].changed_fields, ElementsAre("approx_subject_count", "effect"));
  EXPECT_EQ(full->versions[1].change_note, "second phase");
  EXPECT_EQ(full->versions[1].recorded_at, clock_.Now() - absl::Hours(2));
  EXPECT_EQ(full->versions[1].details.approx_subject_count, 40);
  EXPECT_EQ(full->versions[2].version, 3);
  EXPECT_FALSE(full->versions[2].details.approx_subject_count.has_value());
  EXPECT_EQ(full->current_version, 3);
}

TEST_F(BreachVersionsTest, AnUnknownMaskPathIsNamedAndChangesNothing) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  auto u =
      UpdateFields(Processor(), b->name(), testing::CompleteDetails(), {"effect", "aware_time"});
  ASSERT_THAT(u, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(u.status()), ElementsAre("update_mask.paths[1]"));
  auto full = Get(Processor(), b->name());
  ASSERT_THAT(full, IsOk());
  EXPECT_EQ(full->current_version, 1);
  EXPECT_TRUE(full->details.effect.empty());
}

TEST_F(BreachVersionsTest, AnEmptyUpdateIsInvalid) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  auto u = Update(Processor(), UpdateInput{b->name(), {}, {}, {}, ""});
  ASSERT_THAT(u, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(u.status()), ElementsAre("update_mask"));
}

TEST_F(BreachVersionsTest, AnUpdateThatBreaksAnInvariantOfTheMergedVersionChangesNothing) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  // Clearing the title, and NO_RISK without the rationale it needs.
  BreachDetails d;
  d.risk = RiskAssessment::kNoRisk;
  auto u = UpdateFields(Processor(), b->name(), d, {"title", "risk_assessment"});
  ASSERT_THAT(u, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(u.status()), ElementsAre("details.title", "details.risk_rationale"));
  auto full = Get(Processor(), b->name());
  ASSERT_THAT(full, IsOk());
  EXPECT_EQ(full->current_version, 1);
  EXPECT_EQ(full->current_risk, RiskAssessment::kUnspecified);
}

TEST_F(BreachVersionsTest, AnOccurrenceAfterAwarenessIsRejectedOnUpdate) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(1));
  BreachDetails d;
  d.occurred_at = clock_.Now();
  auto u = UpdateFields(Processor(), b->name(), d, {"occur_time"});
  ASSERT_THAT(u, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(u.status()), ElementsAre("details.occur_time"));
}

TEST_F(BreachVersionsTest, ARetriedUpdateReturnsTheVersionTheFirstCallProduced) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  CallContext ctx = Processor();
  BreachDetails d;
  d.effect = "Synthetic effect.";
  auto first = UpdateFields(ctx, b->name(), d, {"effect"});
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(UpdateFields(Processor(), b->name(), d, {"circumstances"}), IsOk());
  auto retry = UpdateFields(ctx, b->name(), d, {"effect"});
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(retry->version, 2);
  EXPECT_EQ(retry->current_version, 3);
  auto full = Get(Processor(), b->name());
  ASSERT_THAT(full, IsOk());
  EXPECT_EQ(full->versions.size(), 3u);
}

TEST_F(BreachVersionsTest, AnEarlierVersionKeepsItsDetailsAfterLaterUpdates) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  BreachDetails d;
  d.title = "Renamed breach";
  ASSERT_THAT(UpdateFields(Processor(), b->name(), d, {"title"}), IsOk());
  auto full = Get(Processor(), b->name());
  ASSERT_THAT(full, IsOk());
  ASSERT_EQ(full->versions.size(), 2u);
  EXPECT_EQ(full->versions[0].details.title, testing::MinimalDetails().title);
  EXPECT_EQ(full->versions[1].details.title, "Renamed breach");
  EXPECT_EQ(full->details.title, "Renamed breach");
}

class BreachRegisterRulesTest : public testing::BreachRegisterTest {};

TEST_F(BreachRegisterRulesTest, AReportWithoutAwarenessTitleOrTenantsNamesEachField) {
  ReportInput in;
  auto b = Report(Processor(), in);
  ASSERT_THAT(b, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(b.status()),
              ElementsAre("aware_time", "details.title", "details.nature", "affected_tenants"));
}

TEST_F(BreachRegisterRulesTest, AwarenessMoreThanFiveMinutesAheadIsRejected) {
  ReportInput in;
  in.aware_at = clock_.Now() + absl::Minutes(6);
  in.details = testing::MinimalDetails();
  in.affected_tenants = {kTenantA};
  auto b = Report(Processor(), in);
  ASSERT_THAT(b, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(b.status()), ElementsAre("aware_time"));
}

TEST_F(BreachRegisterRulesTest, UnknownAndDuplicateAffectedTenantsAreNamed) {
  ReportInput in;
  in.aware_at = clock_.Now();
  in.details = testing::MinimalDetails();
  in.affected_tenants = {kTenantA, "tenant-unknown", kTenantA};
  auto b = Report(Processor(), in);
  ASSERT_THAT(b, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(b.status()), ElementsAre("affected_tenants[1]", "affected_tenants[2]"));
}

TEST_F(BreachRegisterRulesTest, ATenantsPrincipalMayReportOnlyItsOwnTenant) {
  ReportInput in;
  in.aware_at = clock_.Now();
  in.details = testing::MinimalDetails();
  in.affected_tenants = {kTenantB};
  EXPECT_THAT(Report(Controller(kTenantA), in), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(BreachRegisterRulesTest, AControllerMayNotChangeABreachTheProcessorReported) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  BreachDetails d;
  d.effect = "x";
  EXPECT_THAT(UpdateFields(Controller(), b->name(), d, {"effect"}),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Close(Controller(), b->name()), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(BreachRegisterRulesTest, ABreachOutsideTheCallersTenantsIsNotFound) {
  auto b = ReportAsProcessor(testing::MinimalDetails(), {kTenantA});
  ASSERT_THAT(b, IsOk());
  EXPECT_THAT(Get(Controller(kTenantB), b->name()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Get(Controller(kTenantA), b->name()), IsOk());
  EXPECT_THAT(Get(Processor(), "breaches/br_missing"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Get(Processor(), "privacyRequests/x"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(BreachRegisterRulesTest, AControllerSeesOnlyItsOwnTenantAndNotifications) {
  auto b = ReportAsProcessor(testing::MinimalDetails(), {kTenantA, kTenantB});
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(Notify(Processor(), b->name(), kTenantA, Recipient::kController), IsOk());
  ASSERT_THAT(Notify(Processor(), b->name(), kTenantB, Recipient::kController), IsOk());
  auto view = Get(Controller(kTenantB), b->name());
  ASSERT_THAT(view, IsOk());
  ASSERT_EQ(view->affected_tenants.size(), 1u);
  EXPECT_EQ(view->affected_tenants[0].tenant, kTenantB);
  ASSERT_EQ(view->notifications.size(), 1u);
  EXPECT_EQ(view->notifications[0].tenant, kTenantB);
}

class BreachNotificationsTest : public testing::BreachRegisterTest {};

TEST_F(BreachNotificationsTest, ARecordedNotificationKeepsItsContentVersionAndRecorder) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  BreachDetails d;
  d.effect = "Synthetic effect.";
  ASSERT_THAT(UpdateFields(Controller(), b->name(), d, {"effect"}), IsOk());
  clock_.Advance(absl::Hours(1));
  NotificationInput in;
  in.name = b->name();
  in.recipient = Recipient::kSupervisoryAuthority;
  in.channel = "authority-portal";
  in.reference = "case-0001";
  in.content_version = 1;
  auto n = Notify(Controller(), in);
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(n->tenant, kTenantA);
  EXPECT_EQ(n->content_version, 1);
  EXPECT_EQ(n->notified_at, clock_.Now());
  EXPECT_EQ(n->recorded_at, clock_.Now());
  EXPECT_EQ(n->recorded_by, "tenant-a-dpo");
  EXPECT_EQ(n->name(), b->name() + "/notifications/" + n->notification_id);
  // Default content version: the current one.
  in.content_version = 0;
  in.reference = "case-0002";
  auto current = Notify(Controller(), in);
  ASSERT_THAT(current, IsOk());
  EXPECT_EQ(current->content_version, 2);
}

TEST_F(BreachNotificationsTest, AContentVersionBeyondTheLatestIsInvalid) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  NotificationInput in;
  in.name = b->name();
  in.recipient = Recipient::kSupervisoryAuthority;
  in.channel = "email";
  in.reference = "case-1";
  in.content_version = 2;
  auto n = Notify(Controller(), in);
  ASSERT_THAT(n, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(n.status()), ElementsAre("content_version"));
}

TEST_F(BreachNotificationsTest, MissingChannelReferenceAndRecipientAreNamed) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  NotificationInput in;
  in.name = b->name();
  auto n = Notify(Controller(), in);
  ASSERT_THAT(n, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(n.status()), ElementsAre("recipient", "channel", "reference"));
}

TEST_F(BreachNotificationsTest, ANotificationBeforeTheTenantsAwarenessIsInvalid) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  auto n = Notify(Controller(), b->name(), "", Recipient::kSupervisoryAuthority,
                  clock_.Now() - absl::Seconds(1));
  ASSERT_THAT(n, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(n.status()), ElementsAre("notify_time"));
}

TEST_F(BreachNotificationsTest, AControllerReportedBreachHasNoControllerToNotify) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  auto n = Notify(Processor(), b->name(), kTenantA, Recipient::kController);
  ASSERT_THAT(n, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(n.status()), ElementsAre("recipient"));
}

TEST_F(BreachNotificationsTest, OnlyTheProcessorRecordsControllerNotifications) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  EXPECT_THAT(Notify(Controller(), b->name(), "", Recipient::kController),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(BreachNotificationsTest, ATenantNotAffectedIsInvalidAndAnotherTenantIsDenied) {
  auto b = ReportAsProcessor(testing::MinimalDetails(), {kTenantA});
  ASSERT_THAT(b, IsOk());
  auto n = Notify(Processor(), b->name(), kTenantB, Recipient::kController);
  ASSERT_THAT(n, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(n.status()), ElementsAre("tenant"));
  EXPECT_THAT(Notify(Controller(kTenantA), b->name(), kTenantB, Recipient::kSupervisoryAuthority),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

class BreachCloseTest : public testing::BreachRegisterTest {};

TEST_F(BreachCloseTest, ClosingListsEveryMissingItemAndChangesNothing) {
  auto b = ReportAsProcessor(testing::MinimalDetails(), {kTenantA, kTenantB});
  ASSERT_THAT(b, IsOk());
  auto c = Close(Processor(), b->name());
  ASSERT_THAT(c, StatusIs(absl::StatusCode::kFailedPrecondition));
  const auto v = PreconditionViolationsOf(c.status());
  const auto types = TypesOf(c.status());
  EXPECT_EQ(std::count(types.begin(), types.end(), "MISSING_FIELD"), 13);
  EXPECT_THAT(v, Contains(Field(&PreconditionViolation::subject,
                                b->name() + "/tenants/tenant-b/controller")));
  EXPECT_THAT(v, Contains(Field(&PreconditionViolation::subject,
                                b->name() + "/tenants/tenant-a/supervisory_authority")));
  EXPECT_EQ(v.size(), 13u + 4u);
  auto still = Get(Processor(), b->name());
  ASSERT_THAT(still, IsOk());
  EXPECT_EQ(still->state, BreachState::kOpen);
}

TEST_F(BreachCloseTest, ABreachWithEveryFieldAndNotificationClosesAndThenCannotChange) {
  auto b = ReportAsProcessor(
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kNotify));
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(1));
  ASSERT_THAT(Notify(Processor(), b->name(), kTenantA, Recipient::kController), IsOk());
  ASSERT_THAT(Notify(Processor(), b->name(), kTenantA, Recipient::kSupervisoryAuthority), IsOk());
  auto early = Close(Processor(), b->name());
  ASSERT_THAT(early, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(TypesOf(early.status()), ElementsAre("MISSING_NOTIFICATION"));
  ASSERT_THAT(Notify(Processor(), b->name(), kTenantA, Recipient::kDataSubjects), IsOk());
  clock_.Advance(absl::Hours(1));
  auto closed = Close(Processor(), b->name(), "Done.");
  ASSERT_THAT(closed, IsOk());
  EXPECT_EQ(closed->state, BreachState::kClosed);
  EXPECT_EQ(closed->closed_at, clock_.Now());
  EXPECT_EQ(closed->closed_by, "processor-dpo");
  EXPECT_EQ(closed->close_note, "Done.");

  BreachDetails d;
  d.effect = "x";
  auto u = UpdateFields(Processor(), b->name(), d, {"effect"});
  ASSERT_THAT(u, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(TypesOf(u.status()), ElementsAre("STATE"));
  auto n = Notify(Processor(), b->name(), kTenantA, Recipient::kSupervisoryAuthority);
  EXPECT_THAT(n, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Close(Processor(), b->name()), StatusIs(absl::StatusCode::kFailedPrecondition));
  // Closed breaches are never overdue.
  clock_.Advance(absl::Hours(200));
  EXPECT_FALSE(TenantOf(b->name()).overdue);
}

TEST_F(BreachCloseTest, HighRiskWithoutInformingSubjectsOrAnExemptionCannotClose) {
  auto b = ReportAsController(
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kNotRequired));
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(Notify(Controller(), b->name(), "", Recipient::kSupervisoryAuthority), IsOk());
  auto c = Close(Controller(), b->name());
  ASSERT_THAT(c, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(TypesOf(c.status()), ElementsAre("SUBJECT_NOTIFICATION"));
  ASSERT_THAT(SetRisk(Controller(), b->name(), RiskAssessment::kHighRisk,
                      SubjectDecision::kExemptProtected),
              IsOk());
  EXPECT_THAT(Close(Controller(), b->name()), IsOk());
}

TEST_F(BreachCloseTest, ANoRiskBreachTheControllerReportedClosesWithoutAnyNotification) {
  auto b = ReportAsController(
      testing::CompleteDetails(RiskAssessment::kNoRisk, SubjectDecision::kNotRequired));
  ASSERT_THAT(b, IsOk());
  auto c = Close(Controller(), b->name());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->state, BreachState::kClosed);
}

class BreachListTest : public testing::BreachRegisterTest {
 protected:
  absl::StatusOr<BreachPage> List(const CallContext& ctx, ListInput in) {
    std::promise<absl::StatusOr<BreachPage>> p;
    register_->List(ctx, std::move(in),
                    [&p](absl::StatusOr<BreachPage> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  std::vector<std::string> Names(const BreachPage& page) {
    std::vector<std::string> out;
    for (const auto& b : page.breaches) out.push_back(b.name());
    return out;
  }
};

TEST_F(BreachListTest, OverdueOnlyListsExactlyTheBreachesFlaggedOverdue) {
  // Controller not notified (processor-reported): overdue after 72 h.
  auto controller_missing = ReportAsProcessor(testing::MinimalDetails());
  // Authority clock open: overdue after 72 h.
  auto authority_missing = ReportAsController(testing::MinimalDetails());
  // No risk: the authority clock is exempt.
  auto exempt = ReportAsController(
      testing::CompleteDetails(RiskAssessment::kNoRisk, SubjectDecision::kNotRequired));
  // High risk, authority notified, data subjects not: the subject clock runs.
  auto subjects_missing = ReportAsController(
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kNotify));
  // High risk with an Art. 34(3) exemption, authority notified.
  auto subjects_exempt = ReportAsController(
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kExemptProtected));
  for (const auto* b :
       {&controller_missing, &authority_missing, &exempt, &subjects_missing, &subjects_exempt}) {
    ASSERT_THAT(*b, IsOk());
  }
  ASSERT_THAT(Notify(Controller(), subjects_missing->name(), "", Recipient::kSupervisoryAuthority),
              IsOk());
  ASSERT_THAT(Notify(Controller(), subjects_exempt->name(), "", Recipient::kSupervisoryAuthority),
              IsOk());

  ListInput overdue;
  overdue.overdue_only = true;
  auto none = List(Processor(), overdue);
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->breaches.empty());

  clock_.Advance(absl::Hours(72));
  const std::vector<std::string> expected = {subjects_missing->name(), authority_missing->name(),
                                             controller_missing->name()};  // newest first
  auto all_tenants = List(Processor(), overdue);
  ASSERT_THAT(all_tenants, IsOk());
  EXPECT_EQ(Names(*all_tenants), expected);
  overdue.tenant = kTenantA;
  auto one_tenant = List(Processor(), overdue);
  ASSERT_THAT(one_tenant, IsOk());
  EXPECT_EQ(Names(*one_tenant), expected);
  // The list filter and the flag readers see agree on every breach.
  auto everything = List(Processor(), ListInput{});
  ASSERT_THAT(everything, IsOk());
  ASSERT_EQ(everything->breaches.size(), 5u);
  for (const auto& b : everything->breaches) {
    const bool listed = std::find(expected.begin(), expected.end(), b.name()) != expected.end();
    EXPECT_EQ(b.notification_overdue, listed) << b.name();
  }
}

TEST_F(BreachListTest, PagesRunNewestFirstWithATokenForTheRest) {
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) {
    auto b = ReportAsProcessor(testing::MinimalDetails());
    ASSERT_THAT(b, IsOk());
    names.insert(names.begin(), b->name());
  }
  ListInput in;
  in.page_size = 2;
  auto first = List(Processor(), in);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(Names(*first), std::vector<std::string>(names.begin(), names.begin() + 2));
  ASSERT_FALSE(first->next_page_token.empty());
  in.page_token = first->next_page_token;
  auto second = List(Processor(), in);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(Names(*second), std::vector<std::string>{names[2]});
  EXPECT_TRUE(second->next_page_token.empty());
  // A token of another query is refused.
  in.state = BreachState::kClosed;
  auto other = List(Processor(), in);
  ASSERT_THAT(other, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(other.status()), ElementsAre("page_token"));
}

TEST_F(BreachListTest, BadFiltersAreInvalidAndAnotherTenantsFilterIsDenied) {
  ListInput in;
  in.page_size = 501;
  in.state = static_cast<BreachState>(3);
  auto bad = List(Processor(), in);
  ASSERT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(bad.status()), ElementsAre("state", "page_size"));
  ListInput other;
  other.tenant = kTenantB;
  EXPECT_THAT(List(Controller(kTenantA), other), StatusIs(absl::StatusCode::kPermissionDenied));
  other.tenant = "tenant-unknown";
  auto unknown = List(Processor(), other);
  ASSERT_THAT(unknown, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(unknown.status()), ElementsAre("tenant"));
}

TEST_F(BreachListTest, AControllerListsOnlyBreachesAffectingItsTenant) {
  auto a = ReportAsProcessor(testing::MinimalDetails(), {kTenantA});
  auto b = ReportAsProcessor(testing::MinimalDetails(), {kTenantB});
  auto both = ReportAsProcessor(testing::MinimalDetails(), {kTenantA, kTenantB});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(both, IsOk());
  auto page = List(Controller(kTenantB), ListInput{});
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Names(*page), ElementsAre(both->name(), b->name()));
}

class BreachIdempotencyTest : public testing::BreachRegisterTest {};

TEST_F(BreachIdempotencyTest, ARetriedReportReturnsTheSameBreachAndADifferentOneIsRefused) {
  CallContext ctx = Processor();
  ReportInput in;
  in.aware_at = clock_.Now();
  in.details = testing::MinimalDetails();
  in.affected_tenants = {kTenantA};
  auto first = Report(ctx, in);
  ASSERT_THAT(first, IsOk());
  clock_.Advance(absl::Minutes(1));
  auto retry = Report(ctx, in);
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(retry->breach_id, first->breach_id);
  EXPECT_EQ(retry->reported_at, first->reported_at);
  in.details.title = "Another breach";
  auto reused = Report(ctx, in);
  ASSERT_THAT(reused, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(reused.status()), ElementsAre("request_id"));
}

class BreachExportTest : public testing::BreachRegisterTest {};

TEST_F(BreachExportTest, AProcessorsReportForOneControllerShowsOnlyThatController) {
  auto b = ReportAsProcessor(testing::MinimalDetails(), {kTenantA, kTenantB});
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(Notify(Processor(), b->name(), kTenantA, Recipient::kController), IsOk());
  ASSERT_THAT(Notify(Processor(), b->name(), kTenantB, Recipient::kController), IsOk());
  auto r = Export(Processor(), ExportInput{b->name(), ReportFormat::kJson, kTenantB});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->media_type, "application/json");
  EXPECT_EQ(r->file_name, "breach-" + b->breach_id + "-tenant-b.json");
  auto j = nlohmann::json::parse(r->content);
  EXPECT_EQ(j["controller"], "tenant-b");
  ASSERT_EQ(j["affected_tenants"].size(), 1u);
  EXPECT_EQ(j["affected_tenants"][0]["tenant"], "tenant-b");
  ASSERT_EQ(j["notifications"].size(), 1u);
  EXPECT_EQ(j["notifications"][0]["tenant"], "tenant-b");
}

TEST_F(BreachExportTest, AReportForATenantTheBreachDoesNotAffectIsInvalid) {
  auto b = ReportAsProcessor(testing::MinimalDetails(), {kTenantA});
  ASSERT_THAT(b, IsOk());
  auto r = Export(Processor(), ExportInput{b->name(), ReportFormat::kMarkdown, kTenantB});
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("tenant"));
  auto no_format = Export(Processor(), ExportInput{b->name(), ReportFormat::kUnspecified, ""});
  ASSERT_THAT(no_format, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(no_format.status()), ElementsAre("format"));
}

TEST_F(BreachExportTest, AMarkdownReportIsServedAsMarkdown) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  auto r = Export(Controller(), ExportInput{b->name(), ReportFormat::kMarkdown, ""});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->media_type, "text/markdown; charset=utf-8");
  EXPECT_EQ(r->file_name, "breach-" + b->breach_id + "-tenant-a.md");
  EXPECT_THAT(r->content, HasSubstr("# Personal data breach: Lost laptop"));
}

}  // namespace
}  // namespace dsar::breach
