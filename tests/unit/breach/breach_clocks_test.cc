// lib/breach/breach_clocks through the register on a real store with the
// fake clock: each controller's Art. 33(1) clock towards the authority and
// its Art. 34 clock towards the data subjects, as deadlines of the engine.
#include "lib/breach/breach_clocks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/core/errors.h"
#include "tests/unit/breach/breach_fixture.h"

namespace dsar::breach {
namespace {

using deadline::DeadlineState;
using deadline::kBreachAuthorityNotification;
using deadline::kBreachControllerNotification;
using deadline::kBreachSubjectCommunication;
using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using testing::kTenantA;
using testing::kTenantB;

class BreachClocksTest : public testing::BreachRegisterTest {
 protected:
  absl::Time T(int hours) { return t0_ + absl::Hours(hours); }
  const absl::Time t0_ = absl::FromUnixSeconds(1767225600);
};

TEST_F(BreachClocksTest, AControllerReportedBreachStartsTheAuthorityClockAtAwareness) {
  ReportInput in;
  in.aware_at = T(-2);
  in.details = testing::MinimalDetails();
  auto b = Report(Controller(), in);
  ASSERT_THAT(b, IsOk());
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(t.authority.start_at, T(-2));
  EXPECT_EQ(t.authority.due_at, T(70));
  EXPECT_EQ(AuthorityClockState(t), ClockState::kOpen);
  auto d = FindDeadline(kBreachAuthorityNotification, b->name());
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->state, DeadlineState::kOpen);
  EXPECT_EQ(d->due_at, T(70));
  EXPECT_EQ(d->deadline_id, t.authority.deadline_id);
  // The controller is already aware: no controller-notification deadline.
  EXPECT_THAT(FindDeadline(kBreachControllerNotification, b->name()),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(BreachClocksTest,
       AProcessorReportedBreachLeavesTheAuthorityClockUnstartedUntilTheControllerKnows) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(AuthorityClockState(t), ClockState::kNotStarted);
  EXPECT_FALSE(t.authority.due_at.has_value());
  EXPECT_THAT(FindDeadline(kBreachAuthorityNotification, b->name()),
              StatusIs(absl::StatusCode::kNotFound));
  auto controller = FindDeadline(kBreachControllerNotification, b->name());
  ASSERT_THAT(controller, IsOk());
  EXPECT_EQ(controller->due_at, T(72));
}

TEST_F(BreachClocksTest,
       ProcessorReportedBreachStartsTheAuthorityClockAtTheControllerNotification) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(10));
  // Made at hour 8, recorded at hour 10: the controller knew from hour 8.
  ASSERT_THAT(Notify(Processor(), b->name(), kTenantA, Recipient::kController, T(8)), IsOk());
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(t.authority.start_at, T(8));
  EXPECT_EQ(t.authority.due_at, T(80));
  EXPECT_EQ(AuthorityClockState(t), ClockState::kOpen);
  auto controller = FindDeadline(kBreachControllerNotification, b->name());
  ASSERT_THAT(controller, IsOk());
  EXPECT_EQ(controller->state, DeadlineState::kCompleted);
  EXPECT_EQ(controller->closed_at, T(8));
}

TEST_F(BreachClocksTest, TheStricterReadingStartsTheAuthorityClockAtTheProcessorsAwareness) {
  clocks_.tenants[kTenantB].authority_from_processor_awareness = true;
  MakeRegister();
  ReportInput in;
  in.aware_at = T(-1);
  in.details = testing::MinimalDetails();
  in.affected_tenants = {kTenantA, kTenantB};
  auto b = Report(Processor(), in);
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(AuthorityClockState(TenantOf(b->name(), kTenantA)), ClockState::kNotStarted);
  const AffectedTenant strict = TenantOf(b->name(), kTenantB);
  EXPECT_EQ(strict.authority.start_at, T(-1));
  EXPECT_EQ(strict.authority.due_at, T(71));
}

TEST_F(BreachClocksTest, TheFirstAuthorityNotificationMeetsTheClockAtItsNotifyTime) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(30));
  auto n = Notify(Controller(), b->name(), "", Recipient::kSupervisoryAuthority, T(20));
  ASSERT_THAT(n, IsOk());
  EXPECT_FALSE(n->late);
  EXPECT_EQ(AuthorityClockState(TenantOf(b->name())), ClockState::kMet);
  auto d = FindDeadline(kBreachAuthorityNotification, b->name());
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->state, DeadlineState::kCompleted);
  EXPECT_EQ(d->closed_at, T(20));
}

TEST_F(BreachClocksTest, AnAuthorityNotificationMadeBeforeItsClockStartedIsNotLate) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(100));
  // The controller told the authority at hour 5, having learnt of the breach
  // otherwise; the processor's notification of the controller is at hour 90.
  auto authority = Notify(Processor(), b->name(), kTenantA, Recipient::kSupervisoryAuthority, T(5));
  ASSERT_THAT(authority, IsOk());
  EXPECT_FALSE(authority->late);
  auto controller =
      Notify(Processor(), b->name(), kTenantA, Recipient::kController, T(90), "Synthetic delay.");
  ASSERT_THAT(controller, IsOk());
  EXPECT_TRUE(controller->late);
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(AuthorityClockState(t), ClockState::kMet);
  EXPECT_FALSE(t.overdue);
}

TEST_F(BreachClocksTest, ALateFirstAuthorityNotificationWithoutADelayReasonRecordsNothing) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(73));
  auto n = Notify(Controller(), b->name(), "", Recipient::kSupervisoryAuthority);
  ASSERT_THAT(n, StatusIs(absl::StatusCode::kFailedPrecondition));
  auto v = PreconditionViolationsOf(n.status());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].type, "DELAY_REASON");
  EXPECT_EQ(v[0].subject, b->name() + "/tenants/tenant-a/supervisory_authority");
  EXPECT_EQ(AuthorityClockState(TenantOf(b->name())), ClockState::kOpen);
  EXPECT_TRUE(TenantOf(b->name()).overdue);

  auto with_reason = Notify(Controller(), b->name(), "", Recipient::kSupervisoryAuthority,
                            std::nullopt, "Synthetic delay reason.");
  ASSERT_THAT(with_reason, IsOk());
  EXPECT_TRUE(with_reason->late);
  EXPECT_EQ(with_reason->delay_reason, "Synthetic delay reason.");
  // A follow-up (phased information, Art. 33(4)) needs no reason.
  EXPECT_THAT(Notify(Controller(), b->name(), "", Recipient::kSupervisoryAuthority), IsOk());
}

TEST_F(BreachClocksTest, AnAuthorityNotificationExactlyAtTheDueTimeIsOnTime) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(72));
  auto n = Notify(Controller(), b->name(), "", Recipient::kSupervisoryAuthority);
  ASSERT_THAT(n, IsOk());
  EXPECT_FALSE(n->late);
}

TEST_F(BreachClocksTest, AssessingNoRiskClosesTheAuthorityClockAsExempt) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(5));
  ASSERT_THAT(SetRisk(Controller(), b->name(), RiskAssessment::kNoRisk), IsOk());
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(AuthorityClockState(t), ClockState::kExempt);
  EXPECT_EQ(t.authority.exempt_at, T(5));
  auto d = FindDeadline(kBreachAuthorityNotification, b->name());
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->state, DeadlineState::kCompleted);
  // Exempt is never overdue.
  clock_.Advance(absl::Hours(100));
  EXPECT_FALSE(TenantOf(b->name()).overdue);
}

TEST_F(BreachClocksTest, RaisingTheRiskAgainReopensTheAuthorityClockDueAtTheOriginalTime) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  const std::string first_id = TenantOf(b->name()).authority.deadline_id;
  clock_.Advance(absl::Hours(5));
  ASSERT_THAT(SetRisk(Controller(), b->name(), RiskAssessment::kNoRisk), IsOk());
  clock_.Advance(absl::Hours(5));
  ASSERT_THAT(SetRisk(Controller(), b->name(), RiskAssessment::kRisk), IsOk());
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(AuthorityClockState(t), ClockState::kOpen);
  EXPECT_EQ(t.authority.start_at, T(0));
  EXPECT_EQ(t.authority.due_at, T(72));
  EXPECT_FALSE(t.authority.exempt_at.has_value());
  EXPECT_NE(t.authority.deadline_id, first_id);
  auto d = FindDeadline(kBreachAuthorityNotification, b->name());
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->state, DeadlineState::kOpen);
  EXPECT_EQ(d->due_at, T(72));
}

TEST_F(BreachClocksTest, AHighRiskReportStartsTheSubjectClockForEveryTenant) {
  auto b = ReportAsProcessor(
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kNotify),
      {kTenantA, kTenantB});
  ASSERT_THAT(b, IsOk());
  for (const char* tenant : {kTenantA, kTenantB}) {
    const AffectedTenant t = TenantOf(b->name(), tenant);
    EXPECT_EQ(SubjectClockState(t, RiskAssessment::kHighRisk), ClockState::kOpen) << tenant;
    EXPECT_EQ(t.subjects.start_at, T(0)) << tenant;
    EXPECT_EQ(t.subjects.due_at, T(72)) << tenant;
    auto d = FindDeadline(kBreachSubjectCommunication, b->name(), tenant);
    ASSERT_THAT(d, IsOk()) << tenant;
    EXPECT_EQ(d->state, DeadlineState::kOpen);
  }
}

TEST_F(BreachClocksTest, ARiskBelowHighStartsNoSubjectClock) {
  auto b = ReportAsController(testing::CompleteDetails(RiskAssessment::kRisk));
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(SubjectClockState(TenantOf(b->name()), RiskAssessment::kRisk), ClockState::kNotStarted);
  EXPECT_THAT(FindDeadline(kBreachSubjectCommunication, b->name()),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(BreachClocksTest, ATenantsSubjectCommunicationPeriodSetsTheSubjectDueTime) {
  clocks_.tenants[kTenantA].subject_communication = absl::Hours(24);
  MakeRegister();
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(6));
  ASSERT_THAT(SetRisk(Controller(), b->name(), RiskAssessment::kHighRisk), IsOk());
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(t.subjects.start_at, T(6));
  EXPECT_EQ(t.subjects.due_at, T(30));
}

TEST_F(BreachClocksTest, AnArt34ExemptionClosesTheSubjectClockAsExempt) {
  auto b = ReportAsController(
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kNotify));
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(3));
  ASSERT_THAT(SetRisk(Controller(), b->name(), RiskAssessment::kHighRisk,
                      SubjectDecision::kExemptProtected),
              IsOk());
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(SubjectClockState(t, RiskAssessment::kHighRisk), ClockState::kExempt);
  EXPECT_EQ(t.subjects.exempt_at, T(3));
  auto d = FindDeadline(kBreachSubjectCommunication, b->name());
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->state, DeadlineState::kCompleted);
  clock_.Advance(absl::Hours(100));
  ASSERT_THAT(Notify(Controller(), b->name(), "", Recipient::kSupervisoryAuthority, std::nullopt,
                     "Synthetic delay."),
              IsOk());
  EXPECT_FALSE(TenantOf(b->name()).overdue);
}

TEST_F(BreachClocksTest, AHighRiskReportWithAnExemptionStartsAndClosesTheSubjectClockAtOnce) {
  auto b = ReportAsController(
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kExemptMitigated));
  ASSERT_THAT(b, IsOk());
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(SubjectClockState(t, RiskAssessment::kHighRisk), ClockState::kExempt);
  EXPECT_EQ(t.subjects.exempt_at, T(0));
  auto d = FindDeadline(kBreachSubjectCommunication, b->name());
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->state, DeadlineState::kCompleted);
}

TEST_F(BreachClocksTest, WithdrawingAnExemptionStartsAFreshSubjectClock) {
  auto b = ReportAsController(
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kExemptMitigated));
  ASSERT_THAT(b, IsOk());
  const std::string exempt_id = TenantOf(b->name()).subjects.deadline_id;
  clock_.Advance(absl::Hours(6));
  ASSERT_THAT(SetRisk(Controller(), b->name(), RiskAssessment::kHighRisk, SubjectDecision::kNotify),
              IsOk());
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(SubjectClockState(t, RiskAssessment::kHighRisk), ClockState::kOpen);
  EXPECT_EQ(t.subjects.start_at, T(6));
  EXPECT_EQ(t.subjects.due_at, T(78));
  EXPECT_FALSE(t.subjects.exempt_at.has_value());
  EXPECT_NE(t.subjects.deadline_id, exempt_id);
}

TEST_F(BreachClocksTest, AnExemptSubjectClockStaysExemptWhenTheRiskIsLoweredAndRaisedAgain) {
  auto b = ReportAsController(
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kExemptProtected));
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(1));
  ASSERT_THAT(
      SetRisk(Controller(), b->name(), RiskAssessment::kRisk, SubjectDecision::kExemptProtected),
      IsOk());
  clock_.Advance(absl::Hours(1));
  ASSERT_THAT(SetRisk(Controller(), b->name(), RiskAssessment::kHighRisk,
                      SubjectDecision::kExemptProtected),
              IsOk());
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(SubjectClockState(t, RiskAssessment::kHighRisk), ClockState::kExempt);
  EXPECT_EQ(t.subjects.exempt_at, T(0));
}

TEST_F(BreachClocksTest, ANoRiskAssessmentMadeBeforeTheControllerKnewExemptsItsClockOnceStarted) {
  auto b = ReportAsProcessor(
      testing::CompleteDetails(RiskAssessment::kNoRisk, SubjectDecision::kNotRequired));
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(AuthorityClockState(TenantOf(b->name())), ClockState::kNotStarted);
  clock_.Advance(absl::Hours(2));
  ASSERT_THAT(Notify(Processor(), b->name(), kTenantA, Recipient::kController), IsOk());
  const AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(AuthorityClockState(t), ClockState::kExempt);
  EXPECT_EQ(t.authority.start_at, T(2));
  EXPECT_EQ(t.authority.exempt_at, T(2));
  auto d = FindDeadline(kBreachAuthorityNotification, b->name());
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->state, DeadlineState::kCompleted);
}

TEST_F(BreachClocksTest, LoweringTheRiskCancelsTheSubjectClockAndRaisingItStartsAFreshOne) {
  auto b = ReportAsController(
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kNotify));
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(4));
  ASSERT_THAT(SetRisk(Controller(), b->name(), RiskAssessment::kRisk), IsOk());
  AffectedTenant t = TenantOf(b->name());
  EXPECT_EQ(SubjectClockState(t, RiskAssessment::kRisk), ClockState::kNotRequired);
  auto cancelled = FindDeadline(kBreachSubjectCommunication, b->name());
  ASSERT_THAT(cancelled, IsOk());
  EXPECT_EQ(cancelled->state, DeadlineState::kCancelled);
  // Not overdue past the old due time: no longer required.
  clock_.Advance(absl::Hours(80));
  ASSERT_THAT(Notify(Controller(), b->name(), "", Recipient::kSupervisoryAuthority, std::nullopt,
                     "Synthetic delay."),
              IsOk());
  EXPECT_FALSE(TenantOf(b->name()).overdue);

  ASSERT_THAT(SetRisk(Controller(), b->name(), RiskAssessment::kHighRisk, SubjectDecision::kNotify),
              IsOk());
  t = TenantOf(b->name());
  EXPECT_EQ(SubjectClockState(t, RiskAssessment::kHighRisk), ClockState::kOpen);
  EXPECT_EQ(t.subjects.start_at, T(84));
  EXPECT_EQ(t.subjects.due_at, T(156));
  auto fresh = FindDeadline(kBreachSubjectCommunication, b->name());
  ASSERT_THAT(fresh, IsOk());
  EXPECT_EQ(fresh->state, DeadlineState::kOpen);
  EXPECT_NE(fresh->deadline_id, cancelled->deadline_id);
}

TEST_F(BreachClocksTest, ALateDataSubjectNotificationIsMarkedLateButNeedsNoReason) {
  auto b = ReportAsController(
      testing::CompleteDetails(RiskAssessment::kHighRisk, SubjectDecision::kNotify));
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(73));
  EXPECT_TRUE(TenantOf(b->name()).overdue);
  auto n = Notify(Controller(), b->name(), "", Recipient::kDataSubjects);
  ASSERT_THAT(n, IsOk());
  EXPECT_TRUE(n->late);
  EXPECT_EQ(SubjectClockState(TenantOf(b->name()), RiskAssessment::kHighRisk), ClockState::kMet);
  auto d = FindDeadline(kBreachSubjectCommunication, b->name());
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->state, DeadlineState::kCompleted);
  EXPECT_EQ(d->closed_at, T(73));
}

TEST_F(BreachClocksTest,
       ADataSubjectNotificationMadeBeforeTheSubjectClockStartedMeetsItAtItsStart) {
  auto b = ReportAsController(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(10));
  ASSERT_THAT(SetRisk(Controller(), b->name(), RiskAssessment::kHighRisk, SubjectDecision::kNotify),
              IsOk());
  auto n = Notify(Controller(), b->name(), "", Recipient::kDataSubjects, T(5));
  ASSERT_THAT(n, IsOk());
  EXPECT_FALSE(n->late);
  auto d = FindDeadline(kBreachSubjectCommunication, b->name());
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->state, DeadlineState::kCompleted);
  EXPECT_EQ(d->started_at, T(10));
  EXPECT_EQ(d->closed_at, T(10));
}

TEST_F(BreachClocksTest, ATenantAddedLaterStartsItsControllerClockWhenAdded) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(12));
  UpdateInput in;
  in.name = b->name();
  in.add_affected_tenants = {kTenantB};
  ASSERT_THAT(Update(Processor(), in), IsOk());
  const AffectedTenant added = TenantOf(b->name(), kTenantB);
  EXPECT_EQ(added.aware_at, T(12));
  EXPECT_EQ(added.due_at, T(84));
  EXPECT_EQ(AuthorityClockState(added), ClockState::kNotStarted);
  auto d = FindDeadline(kBreachControllerNotification, b->name(), kTenantB);
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->due_at, T(84));
}

TEST_F(BreachClocksTest, AMissingControllerNotificationMakesTheTenantOverdueAfter72Hours) {
  auto b = ReportAsProcessor(testing::MinimalDetails());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(absl::Hours(72) - absl::Seconds(1));
  EXPECT_FALSE(TenantOf(b->name()).overdue);
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(TenantOf(b->name()).overdue);
  clock_.Advance(absl::Seconds(1));  // made after the due time: late
  auto late = Notify(Processor(), b->name(), kTenantA, Recipient::kController);
  EXPECT_THAT(late, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(PreconditionViolationsOf(late.status()).at(0).type, "DELAY_REASON");
}

}  // namespace
}  // namespace dsar::breach
