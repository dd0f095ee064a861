// services/enum_conversions: every value of every dsar.v1 enum the adapters
// convert survives the trip to the domain and back, and an undeclared wire
// value reaches the domain as itself (so validation can name the field).
#include "services/enum_conversions.h"

#include <set>

#include "gtest/gtest.h"

namespace dsar {
namespace {

// Calls check(value) for every value the proto enum declares.
template <typename Proto, typename Check>
void ForEachProtoValue(const google::protobuf::EnumDescriptor* d, Check check) {
  ASSERT_GT(d->value_count(), 1) << d->full_name();
  for (int i = 0; i < d->value_count(); ++i) check(static_cast<Proto>(d->value(i)->number()));
}

TEST(EnumConversionsTest, BreachStateRoundTrips) {
  ForEachProtoValue<v1::BreachState>(v1::BreachState_descriptor(),
                                     [](auto p) { EXPECT_EQ(ToProto(FromProto(p)), p) << p; });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::BreachState>(99))), 99);
}

TEST(EnumConversionsTest, BreachTypeRoundTrips) {
  ForEachProtoValue<v1::BreachType>(v1::BreachType_descriptor(),
                                    [](auto p) { EXPECT_EQ(ToProto(FromProto(p)), p) << p; });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::BreachType>(99))), 99);
}

TEST(EnumConversionsTest, RiskAssessmentRoundTrips) {
  ForEachProtoValue<v1::RiskAssessment>(v1::RiskAssessment_descriptor(),
                                        [](auto p) { EXPECT_EQ(ToProto(FromProto(p)), p) << p; });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::RiskAssessment>(99))), 99);
}

TEST(EnumConversionsTest, SubjectNotificationDecisionRoundTrips) {
  ForEachProtoValue<v1::SubjectNotificationDecision>(
      v1::SubjectNotificationDecision_descriptor(),
      [](auto p) { EXPECT_EQ(ToProto(FromProto(p)), p) << p; });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::SubjectNotificationDecision>(99))), 99);
}

TEST(EnumConversionsTest, NotificationRecipientRoundTrips) {
  ForEachProtoValue<v1::NotificationRecipient>(v1::NotificationRecipient_descriptor(), [](auto p) {
    EXPECT_EQ(ToProto(FromProto(p)), p) << p;
  });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::NotificationRecipient>(99))), 99);
}

TEST(EnumConversionsTest, BreachClockStateIsDistinctForEachDomainValue) {
  std::set<int> seen;
  for (breach::ClockState v : {breach::ClockState::kUnspecified, breach::ClockState::kNotStarted,
                               breach::ClockState::kOpen, breach::ClockState::kMet,
                               breach::ClockState::kExempt, breach::ClockState::kNotRequired}) {
    EXPECT_TRUE(v1::BreachClockState_IsValid(ToProto(v)));
    EXPECT_TRUE(seen.insert(ToProto(v)).second) << static_cast<int>(v);
  }
  EXPECT_EQ(static_cast<int>(seen.size()), v1::BreachClockState_descriptor()->value_count());
}

TEST(EnumConversionsTest, BreachReportFormatReachesADistinctDomainValue) {
  std::set<int> seen;
  ForEachProtoValue<v1::BreachReportFormat>(v1::BreachReportFormat_descriptor(), [&](auto p) {
    EXPECT_TRUE(seen.insert(static_cast<int>(FromProto(p))).second) << p;
  });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::BreachReportFormat>(99))), 99);
}

TEST(EnumConversionsTest, LawfulBasisRoundTrips) {
  ForEachProtoValue<v1::LawfulBasis>(v1::LawfulBasis_descriptor(),
                                     [](auto p) { EXPECT_EQ(ToProto(FromProto(p)), p) << p; });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::LawfulBasis>(99))), 99);
}

TEST(EnumConversionsTest, ConsentActionIsDistinctForEachDomainValue) {
  std::set<int> seen;
  for (consent::ConsentAction v :
       {consent::ConsentAction::kGiven, consent::ConsentAction::kWithdrawn}) {
    EXPECT_TRUE(v1::ConsentAction_IsValid(ToProto(v)));
    EXPECT_TRUE(seen.insert(ToProto(v)).second) << static_cast<int>(v);
  }
  EXPECT_EQ(static_cast<int>(seen.size()), v1::ConsentAction_descriptor()->value_count() - 1);
}

TEST(EnumConversionsTest, PrivacyRequestTypeRoundTrips) {
  ForEachProtoValue<v1::PrivacyRequestType>(v1::PrivacyRequestType_descriptor(), [](auto p) {
    EXPECT_EQ(ToProto(FromProto(p)), p) << p;
  });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::PrivacyRequestType>(99))), 99);
}

TEST(EnumConversionsTest, PrivacyRequestStateRoundTrips) {
  ForEachProtoValue<v1::PrivacyRequestState>(v1::PrivacyRequestState_descriptor(), [](auto p) {
    EXPECT_EQ(ToProto(FromProto(p)), p) << p;
  });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::PrivacyRequestState>(99))), 99);
}

TEST(EnumConversionsTest, PrivacyRequestSourceIsDistinctForEachDomainValue) {
  std::set<int> seen;
  for (privacy_requests::RequestSource v : {privacy_requests::RequestSource::kUnspecified,
                                            privacy_requests::RequestSource::kDataSubject,
                                            privacy_requests::RequestSource::kRetention}) {
    EXPECT_TRUE(v1::PrivacyRequestSource_IsValid(ToProto(v)));
    EXPECT_TRUE(seen.insert(ToProto(v)).second) << static_cast<int>(v);
  }
  EXPECT_EQ(static_cast<int>(seen.size()), v1::PrivacyRequestSource_descriptor()->value_count());
}

TEST(EnumConversionsTest, RequesterRelationRoundTrips) {
  ForEachProtoValue<v1::RequesterRelation>(
      v1::RequesterRelation_descriptor(), [](auto p) { EXPECT_EQ(ToProto(FromProto(p)), p) << p; });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::RequesterRelation>(99))), 99);
}

TEST(EnumConversionsTest, VerificationMethodRoundTrips) {
  ForEachProtoValue<v1::VerificationMethod>(v1::VerificationMethod_descriptor(), [](auto p) {
    EXPECT_EQ(ToProto(FromProto(p)), p) << p;
  });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::VerificationMethod>(99))), 99);
}

TEST(EnumConversionsTest, RejectionReasonRoundTrips) {
  ForEachProtoValue<v1::RejectionReason>(v1::RejectionReason_descriptor(),
                                         [](auto p) { EXPECT_EQ(ToProto(FromProto(p)), p) << p; });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::RejectionReason>(99))), 99);
}

TEST(EnumConversionsTest, TaskPhaseIsDistinctForEachDomainValue) {
  std::set<int> seen;
  for (privacy_requests::TaskPhase v :
       {privacy_requests::TaskPhase::kUnspecified, privacy_requests::TaskPhase::kExport,
        privacy_requests::TaskPhase::kErase, privacy_requests::TaskPhase::kVerify}) {
    EXPECT_TRUE(v1::TaskPhase_IsValid(ToProto(v)));
    EXPECT_TRUE(seen.insert(ToProto(v)).second) << static_cast<int>(v);
  }
  EXPECT_EQ(static_cast<int>(seen.size()), v1::TaskPhase_descriptor()->value_count());
}

TEST(EnumConversionsTest, DisclosureRecipientRoundTrips) {
  ForEachProtoValue<v1::DisclosureRecipient>(v1::DisclosureRecipient_descriptor(), [](auto p) {
    EXPECT_EQ(ToProto(FromProto(p)), p) << p;
  });
  EXPECT_EQ(static_cast<int>(FromProto(static_cast<v1::DisclosureRecipient>(99))), 99);
}

// Domain enums without an UNSPECIFIED: each value has its own declared,
// specified proto value.
template <typename Domain, typename Proto>
void ExpectDistinctSpecified(std::initializer_list<Domain> values,
                             const google::protobuf::EnumDescriptor* d) {
  std::set<int> seen;
  for (Domain v : values) {
    const int p = ToProto(v);
    EXPECT_NE(d->FindValueByNumber(p), nullptr) << p;
    EXPECT_NE(p, 0) << static_cast<int>(v);
    EXPECT_TRUE(seen.insert(p).second) << static_cast<int>(v);
  }
}

TEST(EnumConversionsTest, StatesAndLevelsWithoutUnspecifiedMapToDistinctValues) {
  ExpectDistinctSpecified<consent::ConsentState, v1::ConsentState>(
      {consent::ConsentState::kNone, consent::ConsentState::kGranted,
       consent::ConsentState::kWithdrawn},
      v1::ConsentState_descriptor());
  ExpectDistinctSpecified<deadline::DeadlineState, v1::DeadlineState>(
      {deadline::DeadlineState::kOpen, deadline::DeadlineState::kCompleted,
       deadline::DeadlineState::kCancelled},
      v1::DeadlineState_descriptor());
  ExpectDistinctSpecified<deadline::AlertLevel, v1::AlertLevel>(
      {deadline::AlertLevel::kWarning, deadline::AlertLevel::kDue, deadline::AlertLevel::kOverdue},
      v1::AlertLevel_descriptor());
  ExpectDistinctSpecified<connector::TaskState, v1::ConnectorTaskState>(
      {connector::TaskState::kPending, connector::TaskState::kRunning, connector::TaskState::kDone,
       connector::TaskState::kSkipped, connector::TaskState::kWaiting,
       connector::TaskState::kFailed, connector::TaskState::kDead, connector::TaskState::kNoMatch},
      v1::ConnectorTaskState_descriptor());
}

}  // namespace
}  // namespace dsar
