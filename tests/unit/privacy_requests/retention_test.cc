// RetentionJob's rules on a real store with the fake clock and fake connector
// clients (the systems' lists of ended relationships; the job, the request
// API and the store are real): the cut-off check against every end date,
// merging a person listed by several systems, automatic and review mode,
// the per-scan cap with its review alert, idempotent rescans and failures.
#include "lib/privacy_requests/retention.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "lib/connector/connector_client.h"
#include "lib/deadline/kinds.h"
#include "tests/unit/privacy_requests/requests_fixture.h"

namespace dsar::privacy_requests {
namespace {

using connector::EndedRelationship;
using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Field;

// A system's list of ended relationships, served in pages of `page_size`
// (its own, whatever the caller asks); every other call is UNIMPLEMENTED.
class FakeEndedRelationships : public connector::ConnectorClient {
 public:
  void Add(std::vector<SubjectIdentifier> subject, absl::Time end) {
    absl::MutexLock lock(&mu_);
    relationships_.push_back({std::move(subject), end});
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    relationships_.clear();
  }
  void FailWith(absl::Status s) {
    absl::MutexLock lock(&mu_);
    fail_ = std::move(s);
  }
  void set_page_size(int n) {
    absl::MutexLock lock(&mu_);
    page_size_ = n;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  absl::Time last_ended_before() {
    absl::MutexLock lock(&mu_);
    return last_ended_before_;
  }

  absl::StatusOr<connector::Description> Describe(absl::Duration) override {
    return absl::UnimplementedError("fake");
  }
  absl::Status Export(const connector::SubjectCall&, absl::Duration,
                      absl::FunctionRef<absl::Status(connector::ExportedRecord)>,
                      std::vector<SubjectIdentifier>*) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<connector::EraseOutcome> Erase(const connector::SubjectCall&,
                                                absl::Duration) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<connector::ConsentOutcome> ApplyConsentChange(const connector::ConsentCall&,
                                                               absl::Duration) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<connector::EndedRelationshipsPage> ListEndedRelationships(
      absl::string_view, absl::Time ended_before, int, absl::string_view page_token,
      absl::Duration) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    last_ended_before_ = ended_before;
    if (!fail_.ok()) return fail_;
    size_t start = 0;
    if (!page_token.empty()) start = std::stoul(std::string(page_token));
    connector::EndedRelationshipsPage page;
    for (size_t i = start; i < relationships_.size() && i < start + page_size_; ++i) {
      page.relationships.push_back(relationships_[i]);
    }
    if (start + page_size_ < relationships_.size()) {
      page.next_page_token = std::to_string(start + page_size_);
    }
    return page;
  }

 private:
  absl::Mutex mu_;
  std::vector<EndedRelationship> relationships_ ABSL_GUARDED_BY(mu_);
  absl::Status fail_ ABSL_GUARDED_BY(mu_);
  size_t page_size_ ABSL_GUARDED_BY(mu_) = 100;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_ended_before_ ABSL_GUARDED_BY(mu_);
};

SubjectIdentifier Email(int n) {
  return {IdentifierType::kEmail, absl::StrCat("person-", n, "@example.invalid")};
}
SubjectIdentifier Customer(int n) {
  return {IdentifierType::kCustomerId, absl::StrCat("cust-", n)};
}

class RetentionTest : public testing::RequestsTest {
 protected:
  void SetUp() override {
    RequestsTest::SetUp();
    env_.options.relationship_retention = absl::Hours(24 * 365);
  }

  RetentionJob::ScanResult Scan() {
    RetentionJob job(&env_, requests_.get(), {{"booking", &booking_}, {"crm", &crm_}},
                     {testing::kTenant});
    return job.RunOnce();
  }

  absl::Time Cutoff() { return clock_.Now() - env_.options.relationship_retention; }

  // Every request of the tenant, with details.
  std::vector<PrivacyRequest> Filed() {
    std::vector<PrivacyRequest> out;
    auto page = requests_->List(Dpo(), ListInput{});
    EXPECT_THAT(page, IsOk());
    if (!page.ok()) return out;
    for (const auto& r : page->requests) {
      auto full = Get(r.id);
      EXPECT_THAT(full, IsOk());
      if (full.ok()) out.push_back(*full);
    }
    return out;
  }

  absl::StatusOr<deadline::Deadline> ReviewAlert() {
    absl::StatusOr<deadline::Deadline> d = absl::UnknownError("not run");
    EXPECT_THAT(store_->Read([&](store::ReadTxn& txn) {
      d = deadlines_->Find(txn, deadline::DeadlineKey{testing::kTenant, deadline::kRetentionReview,
                                                      "retention/held"});
      return absl::OkStatus();
    }),
                IsOk());
    return d;
  }

  FakeEndedRelationships booking_;
  FakeEndedRelationships crm_;
};

TEST_F(RetentionTest, OnlyEndDatesBeforeTheCutOffAreErasedWhateverTheConnectorSays) {
  booking_.Add({Email(1)}, Cutoff() - absl::Seconds(1));  // ended in time
  booking_.Add({Email(2)}, Cutoff());                     // exactly at the cut-off
  booking_.Add({Email(3)}, Cutoff() + absl::Hours(24));   // a recent end
  booking_.Add({Email(4)}, absl::UnixEpoch());            // no end date
  const auto r = Scan();
  EXPECT_EQ(booking_.last_ended_before(), Cutoff());
  EXPECT_EQ(r.listed, 4);
  EXPECT_EQ(r.ignored, 3);
  EXPECT_EQ(r.filed, 1);
  EXPECT_EQ(r.failed, 0);
  EXPECT_EQ(Filed().size(), 1u);
}

TEST_F(RetentionTest, ARetentionErasureIsFiledByTheControllerForTheSystemsThatListedThePerson) {
  booking_.Add({Email(1)}, Cutoff() - absl::Hours(1));
  ASSERT_EQ(Scan().filed, 1);
  const auto filed = Filed();
  ASSERT_EQ(filed.size(), 1u);
  const PrivacyRequest& r = filed[0];
  EXPECT_EQ(r.type, RequestType::kErasure);
  EXPECT_EQ(r.source, RequestSource::kRetention);
  EXPECT_EQ(r.requester.relation, RequesterRelation::kController);
  EXPECT_THAT(r.only_systems, ElementsAre("booking"));
  EXPECT_THAT(r.identifier_types, ElementsAre(IdentifierType::kEmail));
}

TEST_F(RetentionTest, AutomaticModeStartsTheErasureAtOnce) {
  booking_.Add({Email(1)}, Cutoff() - absl::Hours(1));
  const auto r = Scan();
  EXPECT_EQ(r.held, 0);
  const auto filed = Filed();
  ASSERT_EQ(filed.size(), 1u);
  EXPECT_EQ(filed[0].state, RequestState::kInProgress);
  ASSERT_TRUE(filed[0].verification.has_value());
  EXPECT_EQ(filed[0].verification->method, VerificationMethod::kOther);
}

TEST_F(RetentionTest, ReviewModeLeavesEveryErasureReceivedForTheDpo) {
  env_.options.retention_review = true;
  booking_.Add({Email(1)}, Cutoff() - absl::Hours(1));
  crm_.Add({Email(2)}, Cutoff() - absl::Hours(1));
  const auto r = Scan();
  EXPECT_EQ(r.filed, 2);
  EXPECT_EQ(r.held, 2);
  EXPECT_EQ(r.capped_tenants, 0);
  const auto filed = Filed();
  ASSERT_EQ(filed.size(), 2u);
  EXPECT_THAT(filed, Each(Field(&PrivacyRequest::state, RequestState::kReceived)));
  // Review mode alone raises no alert: the DPO chose to review.
  EXPECT_THAT(ReviewAlert(), StatusIs(absl::StatusCode::kNotFound));
  // The DPO approves one.
  auto approved = Verify(filed[0].id);
  ASSERT_THAT(approved, IsOk());
  EXPECT_EQ(approved->state, RequestState::kInProgress);
}

TEST_F(RetentionTest, APersonListedByTwoSystemsIsFiledOnceForBoth) {
  booking_.Add({Email(1), Customer(1)}, Cutoff() - absl::Hours(1));
  crm_.Add({Email(1)}, Cutoff() - absl::Hours(2));
  const auto r = Scan();
  EXPECT_EQ(r.listed, 2);
  EXPECT_EQ(r.filed, 1);
  const auto filed = Filed();
  ASSERT_EQ(filed.size(), 1u);
  EXPECT_THAT(filed[0].only_systems, ElementsAre("booking", "crm"));
}

TEST_F(RetentionTest, ASystemWhereThePersonIsStillACustomerIsNotErased) {
  booking_.Add({Email(1)}, Cutoff() - absl::Hours(1));
  crm_.Add({Email(1)}, Cutoff() + absl::Hours(24 * 30));  // ended last month in the CRM
  const auto r = Scan();
  EXPECT_EQ(r.ignored, 1);
  const auto filed = Filed();
  ASSERT_EQ(filed.size(), 1u);
  EXPECT_THAT(filed[0].only_systems, ElementsAre("booking"));
}

TEST_F(RetentionTest, ARepeatedScanReplaysTheFirstFilingInsteadOfFilingAgain) {
  booking_.Add({Email(1)}, Cutoff() - absl::Hours(1));
  ASSERT_EQ(Scan().filed, 1);
  clock_.Advance(absl::Hours(24));
  const auto again = Scan();
  EXPECT_EQ(again.filed, 1);  // found filed by the earlier scan
  EXPECT_EQ(again.failed, 0);
  EXPECT_EQ(Filed().size(), 1u);
}

TEST_F(RetentionTest, EveryPageOfAConnectorsListIsRead) {
  booking_.set_page_size(2);
  for (int i = 1; i <= 5; ++i) booking_.Add({Email(i)}, Cutoff() - absl::Hours(i));
  const auto r = Scan();
  EXPECT_EQ(booking_.calls(), 3);
  EXPECT_EQ(r.listed, 5);
  EXPECT_EQ(r.filed, 5);
}

TEST_F(RetentionTest, AScanAboveTheCapHoldsEveryErasureAndRaisesOneReviewAlert) {
  env_.options.retention_max_erasures_per_scan = 2;
  for (int i = 1; i <= 3; ++i) booking_.Add({Email(i)}, Cutoff() - absl::Hours(i));
  const auto r = Scan();
  EXPECT_EQ(r.capped_tenants, 1);
  EXPECT_EQ(r.filed, 3);
  EXPECT_EQ(r.held, 3);
  const auto filed = Filed();
  ASSERT_EQ(filed.size(), 3u);
  EXPECT_THAT(filed, Each(Field(&PrivacyRequest::state, RequestState::kReceived)));
  auto alert = ReviewAlert();
  ASSERT_THAT(alert, IsOk());
  EXPECT_EQ(alert->state, deadline::DeadlineState::kOpen);
  EXPECT_LE(alert->due_at, clock_.Now());  // due at once

  // While it is open, further scans add no alert and file nobody twice.
  clock_.Advance(absl::Hours(1));
  const auto again = Scan();
  EXPECT_EQ(again.capped_tenants, 1);
  EXPECT_EQ(Filed().size(), 3u);
  auto same = ReviewAlert();
  ASSERT_THAT(same, IsOk());
  EXPECT_EQ(same->deadline_id, alert->deadline_id);
  EXPECT_EQ(same->state, deadline::DeadlineState::kOpen);
}

TEST_F(RetentionTest, AScanAtTheCapIsNotHeld) {
  env_.options.retention_max_erasures_per_scan = 3;
  for (int i = 1; i <= 3; ++i) booking_.Add({Email(i)}, Cutoff() - absl::Hours(i));
  const auto r = Scan();
  EXPECT_EQ(r.capped_tenants, 0);
  EXPECT_EQ(r.held, 0);
  EXPECT_THAT(Filed(), Each(Field(&PrivacyRequest::state, RequestState::kInProgress)));
  EXPECT_THAT(ReviewAlert(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RetentionTest, TheReviewAlertIsCompletedByTheFirstScanWithNoHeldErasureLeft) {
  env_.options.retention_max_erasures_per_scan = 1;
  booking_.Add({Email(1)}, Cutoff() - absl::Hours(1));
  booking_.Add({Email(2)}, Cutoff() - absl::Hours(2));
  ASSERT_EQ(Scan().capped_tenants, 1);
  const auto held = Filed();
  ASSERT_EQ(held.size(), 2u);
  // The DPO approves one; one is still held, so the alert stays.
  ASSERT_THAT(Verify(held[0].id), IsOk());
  booking_.Clear();
  Scan();
  auto still = ReviewAlert();
  ASSERT_THAT(still, IsOk());
  EXPECT_EQ(still->state, deadline::DeadlineState::kOpen);
  // ... and rejects the other: the next scan settles the alert.
  ASSERT_THAT(Reject(held[1].id), IsOk());
  clock_.Advance(absl::Hours(1));
  const auto r = Scan();
  EXPECT_EQ(r.capped_tenants, 0);
  auto settled = ReviewAlert();
  ASSERT_THAT(settled, IsOk());
  EXPECT_EQ(settled->state, deadline::DeadlineState::kCompleted);
  EXPECT_EQ(settled->closed_at, clock_.Now());
}

// docs/privacy-requests.md: a rejected held erasure is not filed again by
// scans that hold (same request id); a later automatic scan under the cap
// that still finds the person files a new one.
TEST_F(RetentionTest, ARejectedHeldErasureStaysRejectedWhileScansHoldButNotInALaterAutomaticScan) {
  env_.options.retention_max_erasures_per_scan = 1;
  booking_.Add({Email(1)}, Cutoff() - absl::Hours(1));
  booking_.Add({Email(2)}, Cutoff() - absl::Hours(2));
  ASSERT_EQ(Scan().capped_tenants, 1);
  const auto held = Filed();
  ASSERT_EQ(held.size(), 2u);
  for (const auto& r : held) ASSERT_THAT(Reject(r.id), IsOk());
  const auto holding = Scan();
  EXPECT_EQ(holding.capped_tenants, 1);
  EXPECT_EQ(holding.filed, 2);  // replays of the rejected filings
  EXPECT_EQ(Filed().size(), 2u);

  booking_.Clear();
  booking_.Add({Email(1)}, Cutoff() - absl::Hours(1));
  const auto automatic = Scan();
  EXPECT_EQ(automatic.held, 0);
  EXPECT_EQ(automatic.filed, 1);
  const auto all = Filed();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(
      std::count_if(all.begin(), all.end(),
                    [](const PrivacyRequest& r) { return r.state == RequestState::kInProgress; }),
      1);
}

TEST_F(RetentionTest, AConnectorThatCannotBeListedIsCountedAndTheOthersStillFiled) {
  booking_.FailWith(absl::UnavailableError("synthetic outage"));
  crm_.Add({Email(1)}, Cutoff() - absl::Hours(1));
  const auto r = Scan();
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.filed, 1);
  const auto filed = Filed();
  ASSERT_EQ(filed.size(), 1u);
  EXPECT_THAT(filed[0].only_systems, ElementsAre("crm"));
}

TEST_F(RetentionTest, AMalformedIdentifierFromAConnectorIsAFailureNotAFiling) {
  booking_.Add({{IdentifierType::kEmail, "not an address"}}, Cutoff() - absl::Hours(1));
  const auto r = Scan();
  EXPECT_EQ(r.listed, 1);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.filed, 0);
  EXPECT_TRUE(Filed().empty());
}

TEST_F(RetentionTest, AConnectorThatTakesNoErasuresIsNeverAsked) {
  auto export_only = testing::SyntheticConnector("crm");
  export_only.kinds = {connector::TaskKind::kSubjectExport};
  registry_ = std::make_unique<connector::ConnectorRegistry>(
      std::vector<connector::ConnectorInfo>{testing::SyntheticConnector("booking"), export_only});
  env_.registry = registry_.get();
  crm_.Add({Email(1)}, Cutoff() - absl::Hours(1));
  const auto r = Scan();
  EXPECT_EQ(crm_.calls(), 0);
  EXPECT_EQ(booking_.calls(), 1);
  EXPECT_EQ(r.filed, 0);
}

TEST_F(RetentionTest, TheCutOffFollowsTheFakeClockAndTheConfiguredPeriod) {
  env_.options.relationship_retention = absl::Hours(24 * 30);
  const absl::Time end = clock_.Now() - absl::Hours(24 * 29);
  booking_.Add({Email(1)}, end);
  EXPECT_EQ(Scan().filed, 0);
  clock_.Advance(absl::Hours(24) + absl::Seconds(1));
  EXPECT_EQ(Scan().filed, 1);
  EXPECT_EQ(booking_.last_ended_before(), clock_.Now() - absl::Hours(24 * 30));
}

}  // namespace
}  // namespace dsar::privacy_requests
