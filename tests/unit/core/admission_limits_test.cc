#include "lib/core/admission_limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "lib/core/errors.h"
#include "tests/testing/status_matchers.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using Kind = AdmissionLimits::Kind;

TEST(AdmissionLimitsTest, StreamsAndCallsAreCountedApartPerPrincipal) {
  AdmissionLimits limits({/*max_calls=*/100, /*max_streams=*/100, /*per_principal_calls=*/3,
                          /*per_principal_streams=*/2});
  std::vector<std::unique_ptr<AdmissionLimits::Ticket>> held;
  for (int i = 0; i < 2; ++i) {
    auto t = limits.AdmitGlobal(Kind::kStream);
    ASSERT_THAT(t, IsOk());
    ASSERT_THAT(limits.AdmitPrincipal(**t, "auditor"), IsOk());
    held.push_back(std::move(*t));
  }
  auto third = limits.AdmitGlobal(Kind::kStream);
  ASSERT_THAT(third, IsOk());
  absl::Status refused = limits.AdmitPrincipal(**third, "auditor");
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(ErrorReasonOf(refused), "PRINCIPAL_STREAMS_EXHAUSTED");
  third->reset();
  // The auditor's streams leave its calls and everyone else alone.
  for (const char* who : {"auditor", "dpo"}) {
    auto call = limits.AdmitGlobal(Kind::kCall);
    ASSERT_THAT(call, IsOk());
    EXPECT_THAT(limits.AdmitPrincipal(**call, who), IsOk()) << who;
  }
  auto dpo_stream = limits.AdmitGlobal(Kind::kStream);
  ASSERT_THAT(dpo_stream, IsOk());
  EXPECT_THAT(limits.AdmitPrincipal(**dpo_stream, "dpo"), IsOk());
  EXPECT_EQ(limits.in_flight(Kind::kStream, "auditor"), 2);
  EXPECT_EQ(limits.in_flight(Kind::kStream), 3);
  // Closing a stream gives its places back.
  held.pop_back();
  EXPECT_EQ(limits.in_flight(Kind::kStream, "auditor"), 1);
  auto again = limits.AdmitGlobal(Kind::kStream);
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT(limits.AdmitPrincipal(**again, "auditor"), IsOk());
}

TEST(AdmissionLimitsTest, PrincipalCallsAndGlobalLimitsRefuseWithTheirReasons) {
  AdmissionLimits limits({/*max_calls=*/3, /*max_streams=*/1, /*per_principal_calls=*/2,
                          /*per_principal_streams=*/5});
  std::vector<std::unique_ptr<AdmissionLimits::Ticket>> held;
  for (int i = 0; i < 2; ++i) {
    auto t = limits.AdmitGlobal(Kind::kCall);
    ASSERT_THAT(t, IsOk());
    ASSERT_THAT(limits.AdmitPrincipal(**t, "svc"), IsOk());
    held.push_back(std::move(*t));
  }
  auto third = limits.AdmitGlobal(Kind::kCall);
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(ErrorReasonOf(limits.AdmitPrincipal(**third, "svc")), "PRINCIPAL_CALLS_EXHAUSTED");
  held.push_back(std::move(*third));  // a global place without a principal's
  auto fourth = limits.AdmitGlobal(Kind::kCall);
  EXPECT_THAT(fourth, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(ErrorReasonOf(fourth.status()), "OVERLOADED");
  auto stream = limits.AdmitGlobal(Kind::kStream);
  ASSERT_THAT(stream, IsOk());
  auto second_stream = limits.AdmitGlobal(Kind::kStream);
  EXPECT_EQ(ErrorReasonOf(second_stream.status()), "TOO_MANY_STREAMS");
  held.clear();
  stream->reset();
  EXPECT_EQ(limits.in_flight(Kind::kCall), 0);
  EXPECT_EQ(limits.in_flight(Kind::kStream), 0);
  EXPECT_EQ(limits.in_flight(Kind::kCall, "svc"), 0);
}

}  // namespace
}  // namespace dsar
