// The Deadlines API: schedule, complete, cancel, extend, pause, resume, list
// and the SLA report, on a real SQLite store.
#include "lib/deadline/deadlines.h"

#include <set>

#include "lib/core/errors.h"
#include "lib/deadline/deadline_rows.h"
#include "lib/deadline/sla_report.h"
#include "tests/unit/deadline/deadline_fixture.h"

namespace dsar::deadline {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using testing::kTenant;
using ::testing::UnorderedElementsAre;

class DeadlinesTest : public testing::DeadlineTest {};

std::vector<std::string> Fields(const absl::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : FieldViolationsOf(s)) out.push_back(v.field);
  return out;
}

TEST_F(DeadlinesTest, ScheduleComputesTheDueTimeFromTheKind) {
  const absl::Time t0 = clock_.Now();
  auto processor = Schedule("privacyRequests/req-0001", kRequestProcessor, t0);
  ASSERT_THAT(processor, IsOk());
  EXPECT_EQ(processor->due_at, t0 + absl::Hours(72));
  EXPECT_EQ(processor->state, DeadlineState::kOpen);
  EXPECT_EQ(processor->next_offset, -absl::Hours(24));
  EXPECT_EQ(processor->next_alert_at, t0 + absl::Hours(48));
  auto gdpr = Schedule("privacyRequests/req-0001", kRequestGdpr, t0);
  ASSERT_THAT(gdpr, IsOk());
  // 1 January -> end of 1 February (UTC in this fixture).
  EXPECT_EQ(gdpr->due_at, absl::FromCivil(absl::CivilDay(2026, 2, 2), absl::UTCTimeZone()));
  auto found = Find(Key("privacyRequests/req-0001", kRequestGdpr));
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->deadline_id, gdpr->deadline_id);
  EXPECT_EQ(found->due_at, gdpr->due_at);
}

TEST_F(DeadlinesTest, ScheduleNamesEveryBadField) {
  absl::Status s = Mutate([&](store::WriteTxn& txn) {
                     return deadlines_->Schedule(
                         txn, ScheduleRequest{"", "no.such.kind", "", clock_.Now()}, clock_.Now());
                   }).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(s), UnorderedElementsAre("tenant", "kind", "resource"));
  ScheduleRequest early{kTenant, kRequestProcessor, "privacyRequests/req-0002", clock_.Now(),
                        clock_.Now() - absl::Hours(1)};
  s = Mutate([&](store::WriteTxn& txn) {
        return deadlines_->Schedule(txn, early, clock_.Now());
      }).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(s), ElementsAre("due"));
}

TEST_F(DeadlinesTest, OneOpenDeadlinePerKindAndResource) {
  ASSERT_THAT(Schedule("breaches/br-0001", kBreachControllerNotification, clock_.Now()), IsOk());
  EXPECT_THAT(Schedule("breaches/br-0001", kBreachControllerNotification, clock_.Now()),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // Another tenant's resource of the same name is independent.
  EXPECT_THAT(
      Schedule("breaches/br-0001", kBreachControllerNotification, clock_.Now(), "tenant-0002"),
      IsOk());
  ASSERT_THAT(Mutate([&](store::WriteTxn& txn) {
                return deadlines_->Complete(
                    txn, Key("breaches/br-0001", kBreachControllerNotification), clock_.Now());
              }),
              IsOk());
  EXPECT_THAT(Schedule("breaches/br-0001", kBreachControllerNotification, clock_.Now()), IsOk());
}

TEST_F(DeadlinesTest, ScheduleRollsBackWithTheCallersTransaction) {
  absl::Status s = store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    auto d = deadlines_->Schedule(txn,
                                  ScheduleRequest{kTenant, kConsentWithdrawalPropagation,
                                                  "consentEvents/ev-0001", clock_.Now()},
                                  clock_.Now());
    if (!d.ok()) return d.status();
    return absl::AbortedError("the caller's own change failed");
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(Find(Key("consentEvents/ev-0001", kConsentWithdrawalPropagation)),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DeadlinesTest, CompleteClosesOnceAndRecordsOnTime) {
  const DeadlineKey key = Key("privacyRequests/req-0003", kRequestProcessor);
  EXPECT_THAT(
      Mutate([&](store::WriteTxn& txn) { return deadlines_->Complete(txn, key, clock_.Now()); }),
      StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(Schedule(key.resource, key.kind, clock_.Now()), IsOk());
  clock_.Advance(absl::Hours(10));
  auto done =
      Mutate([&](store::WriteTxn& txn) { return deadlines_->Complete(txn, key, clock_.Now()); });
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state, DeadlineState::kCompleted);
  EXPECT_EQ(done->closed_at, clock_.Now());
  EXPECT_FALSE(done->next_alert_at.has_value());
  absl::Status again = Mutate([&](store::WriteTxn& txn) {
                         return deadlines_->Complete(txn, key, clock_.Now());
                       }).status();
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_EQ(PreconditionViolationsOf(again).size(), 1u);
  EXPECT_EQ(PreconditionViolationsOf(again)[0].type, "STATE");
  EXPECT_THAT(
      Mutate([&](store::WriteTxn& txn) { return deadlines_->Cancel(txn, key, clock_.Now()); }),
      StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(DeadlinesTest, ExtendGdprRequestUpToThreeMonthsWithAReason) {
  const absl::Time t0 = clock_.Now();  // 1 January 2026
  const DeadlineKey key = Key("privacyRequests/req-0004", kRequestGdpr);
  ASSERT_THAT(Schedule(key.resource, key.kind, t0), IsOk());
  const absl::Time limit = absl::FromCivil(absl::CivilDay(2026, 4, 2), absl::UTCTimeZone());
  auto extend = [&](absl::Time new_due, const std::string& reason) {
    return Mutate([&](store::WriteTxn& txn) {
      return deadlines_->Extend(txn, key, new_due, reason, clock_.Now());
    });
  };
  absl::Status no_reason = extend(limit, "").status();
  EXPECT_THAT(no_reason, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(no_reason), ElementsAre("reason"));
  absl::Status too_far = extend(limit + absl::Seconds(1), "complex request").status();
  EXPECT_THAT(too_far, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(too_far), ElementsAre("new_due"));
  absl::Status earlier = extend(t0 + absl::Hours(1), "complex request").status();
  EXPECT_THAT(Fields(earlier), ElementsAre("new_due"));
  // Inside the caller's write transaction: find, ask for the limit, extend.
  absl::StatusOr<absl::Time> asked = absl::UnknownError("not run");
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    auto current = deadlines_->Find(txn, key);
    if (!current.ok()) return current.status();
    asked = deadlines_->ExtensionLimit(*current);
    return asked.status();
  }),
              IsOk());
  EXPECT_EQ(*asked, limit);
  auto extended = extend(limit, "complex request; subject informed");
  ASSERT_THAT(extended, IsOk());
  EXPECT_EQ(extended->due_at, limit);
  EXPECT_EQ(extended->due_version, 2);
  EXPECT_EQ(extended->extension_count, 1);
  EXPECT_EQ(extended->extension_reason, "complex request; subject informed");
  EXPECT_EQ(extended->initial_due_at,
            absl::FromCivil(absl::CivilDay(2026, 2, 2), absl::UTCTimeZone()));
}

TEST_F(DeadlinesTest, BreachAndConsentClocksCannotBeExtended) {
  ASSERT_THAT(Schedule("breaches/br-0002", kBreachControllerNotification, clock_.Now()), IsOk());
  absl::Status s =
      Mutate([&](store::WriteTxn& txn) {
        return deadlines_->Extend(txn, Key("breaches/br-0002", kBreachControllerNotification),
                                  clock_.Now() + absl::Hours(100), "more time", clock_.Now());
      }).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(DeadlinesTest, ExtensionMustBeDecidedBeforeTheDueTime) {
  const DeadlineKey key = Key("privacyRequests/req-0005", kRequestProcessor);
  ASSERT_THAT(Schedule(key.resource, key.kind, clock_.Now()), IsOk());
  clock_.Advance(absl::Hours(73));
  EXPECT_THAT(Mutate([&](store::WriteTxn& txn) {
                return deadlines_->Extend(txn, key, clock_.Now() + absl::Hours(24), "late",
                                          clock_.Now());
              }),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(DeadlinesTest, PauseStopsTheClockAndResumeMovesTheDueTime) {
  const absl::Time t0 = clock_.Now();
  const DeadlineKey key = Key("privacyRequests/req-0006", kRequestProcessor);
  ASSERT_THAT(Schedule(key.resource, key.kind, t0), IsOk());
  clock_.Advance(absl::Hours(10));
  auto paused =
      Mutate([&](store::WriteTxn& txn) { return deadlines_->Pause(txn, key, clock_.Now()); });
  ASSERT_THAT(paused, IsOk());
  EXPECT_TRUE(paused->paused());
  EXPECT_FALSE(paused->next_alert_at.has_value());
  EXPECT_THAT(
      Mutate([&](store::WriteTxn& txn) { return deadlines_->Pause(txn, key, clock_.Now()); }),
      StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Mutate([&](store::WriteTxn& txn) {
                return deadlines_->Extend(txn, key, t0 + absl::Hours(100), "x", clock_.Now());
              }),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  clock_.Advance(absl::Hours(30));
  auto resumed =
      Mutate([&](store::WriteTxn& txn) { return deadlines_->Resume(txn, key, clock_.Now()); });
  ASSERT_THAT(resumed, IsOk());
  EXPECT_FALSE(resumed->paused());
  EXPECT_EQ(resumed->due_at, t0 + absl::Hours(72 + 30));
  EXPECT_EQ(resumed->paused_total, absl::Hours(30));
  EXPECT_EQ(resumed->next_alert_at, t0 + absl::Hours(48 + 30));
  EXPECT_THAT(
      Mutate([&](store::WriteTxn& txn) { return deadlines_->Resume(txn, key, clock_.Now()); }),
      StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(DeadlinesTest, ReadsNeverCrossTenants) {
  auto d = Schedule("privacyRequests/req-0007", kRequestProcessor, clock_.Now());
  ASSERT_THAT(d, IsOk());
  absl::Status s = store_->Read([&](store::ReadTxn& txn) {
    EXPECT_THAT(deadlines_->Get(txn, kTenant, d->deadline_id), IsOk());
    EXPECT_THAT(deadlines_->Get(txn, "tenant-0002", d->deadline_id),
                StatusIs(absl::StatusCode::kNotFound));
    auto other = deadlines_->List(txn, ListQuery{"tenant-0002"}, clock_.Now());
    EXPECT_THAT(other, IsOk());
    if (other.ok()) {
      EXPECT_TRUE(other->deadlines.empty());
    }
    return absl::OkStatus();
  });
  ASSERT_THAT(s, IsOk());
}

TEST_F(DeadlinesTest, ListFiltersByDueTimeOverdueKindAndPages) {
  const absl::Time t0 = clock_.Now();
  for (int i = 0; i < 5; ++i) {
    // Starts 0, 20, 40, 60, 80 hours ago: due in 72, 52, 32, 12 hours; one overdue.
    ASSERT_THAT(Schedule(absl::StrCat("privacyRequests/req-1", i), kRequestProcessor,
                         t0 - absl::Hours(20 * i)),
                IsOk());
  }
  ASSERT_THAT(Schedule("breaches/br-0003", kBreachControllerNotification, t0), IsOk());
  auto list = [&](ListQuery q) {
    q.tenant = kTenant;
    DeadlinePage page;
    EXPECT_THAT(store_->Read([&](store::ReadTxn& txn) -> absl::Status {
      auto p = deadlines_->List(txn, q, clock_.Now());
      if (!p.ok()) return p.status();
      page = std::move(*p);
      return absl::OkStatus();
    }),
                IsOk());
    return page;
  };
  EXPECT_EQ(list({}).deadlines.size(), 6u);
  ListQuery overdue;
  overdue.overdue_only = true;
  auto o = list(overdue);
  ASSERT_EQ(o.deadlines.size(), 1u);
  EXPECT_EQ(o.deadlines[0].resource, "privacyRequests/req-14");
  ListQuery soon;
  soon.due_before = t0 + absl::Hours(40);
  EXPECT_THAT(list(soon).deadlines,
              ElementsAre(Field(&Deadline::resource, "privacyRequests/req-14"),
                          Field(&Deadline::resource, "privacyRequests/req-13"),
                          Field(&Deadline::resource, "privacyRequests/req-12")));
  ListQuery breaches;
  breaches.kind = kBreachControllerNotification;
  EXPECT_EQ(list(breaches).deadlines.size(), 1u);
  // Pages of two, in due order, covering everything once.
  ListQuery paged;
  paged.page_size = 2;
  std::vector<std::string> seen;
  for (int pages = 0; pages < 10; ++pages) {
    DeadlinePage page = list(paged);
    for (const auto& d : page.deadlines) seen.push_back(d.resource);
    if (page.next_page_token.empty()) break;
    paged.page_token = page.next_page_token;
  }
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen.front(), "privacyRequests/req-14");
  ListQuery bad;
  bad.page_token = "not-a-token";
  absl::Status s = store_->Read([&](store::ReadTxn& txn) {
    bad.tenant = kTenant;
    return deadlines_->List(txn, bad, clock_.Now()).status();
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DeadlinesTest, SlaReportCountsOnTimeOpenOverdueAndPercentiles) {
  const absl::Time t0 = clock_.Now();
  // Ten processor requests closed after 1..10 hours, one after 80 hours (late).
  for (int i = 1; i <= 11; ++i) {
    const std::string resource = absl::StrCat("privacyRequests/req-2", i);
    ASSERT_THAT(Schedule(resource, kRequestProcessor, t0), IsOk());
  }
  for (int i = 1; i <= 11; ++i) {
    const absl::Time close = t0 + absl::Hours(i == 11 ? 80 : i);
    ASSERT_THAT(Mutate([&](store::WriteTxn& txn) {
                  return deadlines_->Complete(
                      txn, Key(absl::StrCat("privacyRequests/req-2", i), kRequestProcessor), close);
                }),
                IsOk());
  }
  ASSERT_THAT(Schedule("privacyRequests/req-open", kRequestProcessor, t0 - absl::Hours(100)),
              IsOk());
  ASSERT_THAT(Schedule("privacyRequests/req-open2", kRequestProcessor, t0), IsOk());
  ASSERT_THAT(Schedule("privacyRequests/req-cancel", kRequestProcessor, t0), IsOk());
  ASSERT_THAT(Mutate([&](store::WriteTxn& txn) {
                return deadlines_->Cancel(txn, Key("privacyRequests/req-cancel", kRequestProcessor),
                                          t0 + absl::Hours(1));
              }),
              IsOk());
  SlaReport report;
  ASSERT_THAT(store_->Read([&](store::ReadTxn& txn) -> absl::Status {
    auto r = BuildSlaReport(txn, SlaQuery{kTenant, "", t0, t0 + absl::Hours(24 * 7)},
                            t0 + absl::Hours(1));
    if (!r.ok()) return r.status();
    report = std::move(*r);
    return absl::OkStatus();
  }),
              IsOk());
  ASSERT_EQ(report.kinds.size(), 1u);
  const KindSla& k = report.kinds[0];
  EXPECT_EQ(k.kind, kRequestProcessor);
  EXPECT_EQ(k.completed, 11);
  EXPECT_EQ(k.completed_on_time, 10);
  EXPECT_DOUBLE_EQ(k.on_time_rate, 10.0 / 11.0);
  EXPECT_EQ(k.cancelled, 1);
  EXPECT_EQ(k.open, 2);
  EXPECT_EQ(k.overdue, 1);
  EXPECT_EQ(k.time_to_close_p50, absl::Hours(6));
  EXPECT_EQ(k.time_to_close_p90, absl::Hours(10));
  EXPECT_EQ(k.time_to_close_p99, absl::Hours(80));
  absl::Status bad = store_->Read([&](store::ReadTxn& txn) {
    return BuildSlaReport(txn, SlaQuery{kTenant, "", t0, t0}, t0).status();
  });
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace dsar::deadline
