// Clock, status macros, ids and rich errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "lib/core/clock.h"
#include "lib/core/errors.h"
#include "lib/core/ids.h"
#include "lib/core/status_macros.h"
#include "services/grpc_status.h"
#include "tests/testing/status_matchers.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(FakeClockTest, MovesOnlyWhenTold) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
  clock.Advance(absl::Hours(72));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000) + absl::Hours(72));
  clock.SetTime(absl::FromUnixSeconds(5));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(5));
}

absl::StatusOr<int> Half(int x) {
  if (x % 2) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(half, Half(half));
  return half;
}

absl::Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnEarlyOnErrorAndPassValuesThrough) {
  EXPECT_THAT(Quarter(8), IsOk());
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckEven(3), StatusIs(absl::StatusCode::kInvalidArgument, "odd"));
  EXPECT_THAT(CheckEven(4), IsOk());
}

TEST(IdsTest, PrefixedUniqueAndBase32) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewId("rcpt");
    EXPECT_THAT(id, MatchesRegex("rcpt_[a-z2-7]{26}"));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(IdsTest, ABatchOfTimeOrderedIdsSharesTheTimeAndIsUnique) {
  const absl::Time t = absl::FromUnixSeconds(1767225600);
  std::vector<std::string> ids = NewTimeOrderedIds("alrt", t, 500);
  ASSERT_EQ(ids.size(), 500u);
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());
  const std::string single = NewTimeOrderedId("alrt", t);
  for (const std::string& id : ids) {
    ASSERT_EQ(id.size(), single.size()) << id;
    EXPECT_EQ(id.substr(0, 5 + 11), single.substr(0, 5 + 11));  // prefix and time part
  }
  EXPECT_LT(ids[0], NewTimeOrderedId("alrt", t + absl::Microseconds(1)));
}

TEST(IdsTest, TimeOrderedIdsSortByTimeAndAreUnique) {
  const absl::Time t0 = absl::FromUnixSeconds(1790000000);
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    // Ten ids per microsecond: order holds across microseconds, not within one.
    std::string id = NewTimeOrderedId("cev", t0 + absl::Microseconds(i / 10));
    EXPECT_THAT(id, MatchesRegex("cev_[a-z2-7]{26}"));
    if (i % 10 == 0) {
      EXPECT_LT(previous, id);
    }
    previous = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_LT(NewTimeOrderedId("cev", t0 + absl::Hours(24 * 365 * 30)),
            NewTimeOrderedId("cev", t0 + absl::Hours(24 * 365 * 30) + absl::Microseconds(1)));
}

TEST(ErrorsTest, FieldErrorsCollectEveryViolation) {
  FieldErrors errors;
  EXPECT_THAT(errors.ToStatus(), IsOk());
  errors.Add("consent.language", "not a BCP 47 tag");
  errors.Add("consent.purpose", "required");
  absl::Status status = errors.ToStatus();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("consent.language: not a BCP 47 tag")));
  EXPECT_THAT(FieldViolationsOf(status),
              ElementsAre(Field(&FieldViolation::field, "consent.language"),
                          Field(&FieldViolation::field, "consent.purpose")));
}

TEST(GrpcStatusTest, CarriesBadRequestAndPreconditionDetailsThroughTheWire) {
  absl::Status bad = WithErrorInfo(InvalidField("request_id", "required"), "MISSING_REQUEST_ID",
                                   {{"method", "RecordConsent"}});
  grpc::Status wire = ToGrpcStatus(bad);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(wire.error_details().empty());
  absl::Status back = FromGrpcStatus(wire);
  EXPECT_THAT(back, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldViolationsOf(back), ElementsAre(Field(&FieldViolation::field, "request_id")));
  EXPECT_EQ(ErrorReasonOf(back), "MISSING_REQUEST_ID");

  absl::Status pre = FailedPreconditionWithViolations(
      "cannot close", {{"NOTIFICATION", "breaches/b1", "authority not notified"}});
  absl::Status pre_back = FromGrpcStatus(ToGrpcStatus(pre));
  EXPECT_THAT(pre_back, StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_EQ(PreconditionViolationsOf(pre_back).size(), 1u);
  EXPECT_EQ(PreconditionViolationsOf(pre_back)[0].subject, "breaches/b1");
}

TEST(GrpcStatusTest, PlainErrorsHaveNoDetailsAndOkStaysOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  grpc::Status wire = ToGrpcStatus(absl::NotFoundError("no such request"));
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(wire.error_message(), "no such request");
  EXPECT_TRUE(wire.error_details().empty());
}

}  // namespace
}  // namespace dsar
