// The deadline module's entry points for its API (DeadlineQueries,
// AlertAcknowledgements) and its resource names, on a real SQLite store.
#include "lib/deadline/deadline_queries.h"

#include "absl/synchronization/notification.h"
#include "lib/core/errors.h"
#include "lib/deadline/alert_acknowledgements.h"
#include "lib/deadline/resource_names.h"
#include "tests/unit/deadline/deadline_fixture.h"

namespace dsar::deadline {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::ElementsAre;
using testing::kTenant;

class DeadlineQueriesTest : public testing::DeadlineTest {
 protected:
  CallContext Caller(bool all_tenants = false) {
    CallContext ctx;
    ctx.tenant = kTenant;
    ctx.principal = "dpo";
    ctx.all_tenants = all_tenants;
    ctx.idempotency_key = IdempotencyKey("req-0001");
    return ctx;
  }
  std::vector<std::string> FieldsOf(const absl::Status& s) {
    std::vector<std::string> out;
    for (const auto& v : FieldViolationsOf(s)) out.push_back(v.field);
    return out;
  }
};

TEST_F(DeadlineQueriesTest, AlertNamesRoundTripAndOthersAreRefused) {
  EXPECT_EQ(AlertName("alrt_x_1_0"), "alerts/alrt_x_1_0");
  EXPECT_EQ(DeadlineName("dl_x"), "deadlines/dl_x");
  auto id = ParseAlertName(AlertName("alrt_x_1_0"));
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(*id, "alrt_x_1_0");
  for (const char* bad : {"alerts/", "deadlines/dl_x", "alrt_x_1_0", ""}) {
    absl::StatusOr<std::string> parsed = ParseAlertName(bad);
    EXPECT_THAT(parsed, StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
    EXPECT_THAT(FieldsOf(parsed.status()), ElementsAre("name")) << bad;
  }
}

TEST_F(DeadlineQueriesTest, ListsTheCallersDeadlinesDueWithinAWindowAsOfNow) {
  DeadlineQueries queries(store_.get(), &clock_, deadlines_.get(), {kTenant});
  ASSERT_THAT(Schedule("privacyRequests/pr_1", kRequestProcessor, clock_.Now()), IsOk());
  ASSERT_THAT(Schedule("privacyRequests/pr_2", kRequestProcessor, clock_.Now(), "tenant-0002"),
              IsOk());
  DeadlineListRequest request;
  request.due_within = absl::Hours(73);
  auto listing = queries.List(Caller(), request);
  ASSERT_THAT(listing, IsOk());
  EXPECT_EQ(listing->as_of, clock_.Now());
  ASSERT_EQ(listing->deadlines.size(), 1u);
  EXPECT_EQ(listing->deadlines[0].resource, "privacyRequests/pr_1");
  request.due_within = absl::Hours(71);  // due in 72 hours: outside the window
  listing = queries.List(Caller(), request);
  ASSERT_THAT(listing, IsOk());
  EXPECT_TRUE(listing->deadlines.empty());
  request.due_within = -absl::Seconds(1);
  listing = queries.List(Caller(), request);
  EXPECT_THAT(listing, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(listing.status()), ElementsAre("due_within"));
}

TEST_F(DeadlineQueriesTest, OnlyAPrincipalOfAllTenantsReportsOnAllTenants) {
  DeadlineQueries queries(store_.get(), &clock_, deadlines_.get(), {kTenant, "tenant-0002"});
  SlaReportRequest request;
  request.all_tenants = true;
  EXPECT_THAT(queries.SlaReportFor(Caller(), request),
              StatusIs(absl::StatusCode::kPermissionDenied));
  auto report = queries.SlaReportFor(Caller(/*all_tenants=*/true), request);
  ASSERT_THAT(report, IsOk());
  // The window defaults to the 30 days before now.
  EXPECT_EQ(report->end, clock_.Now());
  EXPECT_EQ(report->start, clock_.Now() - absl::Hours(24 * 30));
}

TEST_F(DeadlineQueriesTest, AlertsAfterANegativeSequenceAreRefused) {
  DeadlineQueries queries(store_.get(), &clock_, deadlines_.get(), {kTenant});
  auto alerts = queries.AlertsAfter(kTenant, -1, 10);
  EXPECT_THAT(alerts, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(alerts.status()), ElementsAre("after_sequence"));
  alerts = queries.AlertsAfter(kTenant, 0, 10);
  ASSERT_THAT(alerts, IsOk());
  EXPECT_TRUE(alerts->empty());
}

TEST_F(DeadlineQueriesTest, AcknowledgingABadNameAnswersAtOnceAndAnUnknownAlertIsNotFound) {
  AlertAcknowledgements acknowledgements(store_.get(), &clock_);
  absl::StatusOr<Alert> bad = absl::UnknownError("not answered");
  acknowledgements.Acknowledge(Caller(), "deadlines/dl_x",
                               [&](absl::StatusOr<Alert> a) { bad = std::move(a); });
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(bad.status()), ElementsAre("name"));
  absl::Notification answered;
  absl::StatusOr<Alert> unknown = absl::UnknownError("not answered");
  acknowledgements.Acknowledge(Caller(), AlertName("alrt_nothing_1_0"),
                               [&](absl::StatusOr<Alert> a) {
                                 unknown = std::move(a);
                                 answered.Notify();
                               });
  answered.WaitForNotification();
  EXPECT_THAT(unknown, StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace dsar::deadline
