// The privacy-request state machine on a real store with the fake clock:
// internal::Transition for every pair of states (each allowed one recorded in
// the history, each illegal one FAILED_PRECONDITION with nothing changed),
// and the API's Verify, Reject and Cancel from the states they allow and
// those they do not, with the clocks they complete or cancel.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "lib/core/errors.h"
#include "lib/deadline/kinds.h"
#include "lib/privacy_requests/request_rows.h"
#include "lib/privacy_requests/transitions.h"
#include "lib/store/migrations.h"
#include "tests/unit/privacy_requests/requests_fixture.h"

namespace dsar::privacy_requests {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using S = RequestState;

const std::vector<S>& AllStates() {
  static const std::vector<S>* const all =
      new std::vector<S>{S::kReceived, S::kVerified,  S::kInProgress, S::kCompleted,
                         S::kRejected, S::kCancelled, S::kFailed};
  return *all;
}

// docs/privacy-requests.md and request.h: the only moves a request makes.
const std::set<std::pair<S, S>>& Allowed() {
  static const std::set<std::pair<S, S>>* const allowed =
      new std::set<std::pair<S, S>>{{S::kReceived, S::kVerified},    {S::kReceived, S::kRejected},
                                    {S::kReceived, S::kCancelled},   {S::kVerified, S::kInProgress},
                                    {S::kVerified, S::kRejected},    {S::kVerified, S::kCancelled},
                                    {S::kInProgress, S::kCompleted}, {S::kInProgress, S::kFailed},
                                    {S::kInProgress, S::kCancelled}, {S::kFailed, S::kInProgress},
                                    {S::kFailed, S::kCancelled}};
  return *allowed;
}

class RequestStateMachineTest : public testing::RequestsTest {
 protected:
  // Runs internal::Transition on the stored request `id`, placed in `from`.
  // Returns its status; `*after` is the in-memory request afterwards.
  absl::Status TransitionFrom(const std::string& id, S from, S to, PrivacyRequest* after) {
    absl::Status result = absl::UnknownError("not run");
    absl::Status write = store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
      std::optional<PrivacyRequest> r = rows::Load(txn, testing::kTenant, id);
      if (!r.has_value()) return absl::NotFoundError(id);
      r->state = from;
      result = internal::Transition(txn, env_, *r, to, "unit-test", "synthetic step", clock_.Now());
      *after = *r;
      return result;
    });
    if (result.ok() && !write.ok()) return write;
    return result;
  }

  deadline::DeadlineState ClockState(const PrivacyRequest& r, const char* kind) {
    absl::StatusOr<deadline::Deadline> d = absl::UnknownError("not run");
    EXPECT_THAT(store_->Read([&](store::ReadTxn& txn) {
      d = deadlines_->Find(txn, deadline::DeadlineKey{r.tenant, kind, r.name()});
      return absl::OkStatus();
    }),
                IsOk());
    EXPECT_THAT(d, IsOk()) << kind;
    return d.ok() ? d->state : deadline::DeadlineState::kOpen;
  }
};

TEST_F(RequestStateMachineTest, EveryAllowedTransitionIsStoredWithItsHistoryRow) {
  int n = 0;
  for (const auto& [from, to] : Allowed()) {
    auto created = File(RequestType::kAccess, ++n);
    ASSERT_THAT(created, IsOk());
    const std::string id = created->request.id;
    clock_.Advance(absl::Minutes(1));
    PrivacyRequest after;
    ASSERT_THAT(TransitionFrom(id, from, to, &after), IsOk())
        << RequestStateName(from) << " -> " << RequestStateName(to);
    auto stored = Get(id);
    ASSERT_THAT(stored, IsOk());
    EXPECT_EQ(stored->state, to) << RequestStateName(from) << " -> " << RequestStateName(to);
    ASSERT_FALSE(stored->history.empty());
    const StateChange& last = stored->history.back();
    EXPECT_EQ(last.from, from);
    EXPECT_EQ(last.to, to);
    EXPECT_EQ(last.actor, "unit-test");
    EXPECT_EQ(last.detail, "synthetic step");
    EXPECT_EQ(last.at, clock_.Now());
    const bool closes = to == S::kCompleted || to == S::kRejected || to == S::kCancelled;
    EXPECT_EQ(stored->closed_at.has_value(), closes)
        << RequestStateName(from) << " -> " << RequestStateName(to);
    EXPECT_EQ(IsOpen(to), !closes);
  }
  EXPECT_EQ(n, 11);
}

TEST_F(RequestStateMachineTest, EveryIllegalTransitionIsFailedPreconditionAndChangesNothing) {
  auto created = File(RequestType::kErasure);
  ASSERT_THAT(created, IsOk());
  const std::string id = created->request.id;
  int illegal = 0;
  for (S from : AllStates()) {
    for (S to : AllStates()) {
      if (Allowed().count({from, to}) == 1) continue;
      ++illegal;
      PrivacyRequest after;
      absl::Status s = TransitionFrom(id, from, to, &after);
      EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition))
          << RequestStateName(from) << " -> " << RequestStateName(to);
      auto v = PreconditionViolationsOf(s);
      ASSERT_EQ(v.size(), 1u);
      EXPECT_EQ(v[0].type, "STATE");
      EXPECT_EQ(v[0].subject, RequestName(id));
      EXPECT_EQ(after.state, from) << "the request in memory must not move";
    }
  }
  EXPECT_EQ(illegal, 7 * 7 - 11);
  auto stored = Get(id);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->state, S::kReceived);
  EXPECT_EQ(stored->history.size(), created->request.history.size());
}

TEST_F(RequestStateMachineTest, NoStateMayMoveToUnspecifiedOrToItself) {
  for (S s : AllStates()) {
    EXPECT_FALSE(TransitionAllowed(s, s)) << RequestStateName(s);
    EXPECT_FALSE(TransitionAllowed(s, S::kUnspecified)) << RequestStateName(s);
    EXPECT_FALSE(TransitionAllowed(S::kUnspecified, s)) << RequestStateName(s);
  }
}

TEST_F(RequestStateMachineTest, ANewRequestIsReceivedWithBothClocksRunning) {
  auto created = File(RequestType::kAccess);
  ASSERT_THAT(created, IsOk());
  const PrivacyRequest& r = created->request;
  EXPECT_EQ(r.state, S::kReceived);
  EXPECT_EQ(r.received_at, clock_.Now());
  EXPECT_EQ(r.processor_due_at, clock_.Now() + absl::Hours(72));
  // One month (Reg. 1182/71 Art. 3(2)(c)): the end of 2026-02-01.
  EXPECT_EQ(r.gdpr_due_at, absl::FromUnixSeconds(1769904000) + absl::Hours(24));
  EXPECT_EQ(ClockState(r, deadline::kRequestProcessor), deadline::DeadlineState::kOpen);
  EXPECT_EQ(ClockState(r, deadline::kRequestGdpr), deadline::DeadlineState::kOpen);
}

TEST_F(RequestStateMachineTest, VerifyingMovesAReceivedRequestOnToItsWorkAndOnlyOnce) {
  auto created = File(RequestType::kAccess);
  ASSERT_THAT(created, IsOk());
  const std::string id = created->request.id;
  auto verified = Verify(id);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->state, S::kInProgress);
  ASSERT_TRUE(verified->verification.has_value());
  EXPECT_EQ(verified->verification->method, VerificationMethod::kKnownContactChannel);
  auto stored = Get(id);
  ASSERT_THAT(stored, IsOk());
  std::vector<std::pair<S, S>> moves;
  for (const auto& h : stored->history) moves.emplace_back(h.from, h.to);
  EXPECT_THAT(moves, ::testing::Contains(std::make_pair(S::kReceived, S::kVerified)));
  EXPECT_THAT(moves, ::testing::Contains(std::make_pair(S::kVerified, S::kInProgress)));
  auto again = Verify(id);
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(PreconditionViolationsOf(again.status()).at(0).type, "STATE");
}

TEST_F(RequestStateMachineTest, RejectingAnswersTheRequestAndCompletesBothClocks) {
  auto created = File(RequestType::kErasure);
  ASSERT_THAT(created, IsOk());
  clock_.Advance(absl::Hours(1));
  auto rejected = Reject(created->request.id);
  ASSERT_THAT(rejected, IsOk());
  EXPECT_EQ(rejected->state, S::kRejected);
  EXPECT_EQ(rejected->rejection_reason, RejectionReason::kIdentityNotVerified);
  EXPECT_EQ(rejected->closed_at, clock_.Now());
  EXPECT_EQ(ClockState(*rejected, deadline::kRequestProcessor),
            deadline::DeadlineState::kCompleted);
  EXPECT_EQ(ClockState(*rejected, deadline::kRequestGdpr), deadline::DeadlineState::kCompleted);
  // A closed request moves no more.
  EXPECT_THAT(Reject(created->request.id), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Cancel(created->request.id), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Verify(created->request.id), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RequestStateMachineTest, CancellingCancelsBothClocksWithoutCountingThem) {
  auto created = File(RequestType::kAccess);
  ASSERT_THAT(created, IsOk());
  auto cancelled = Cancel(created->request.id);
  ASSERT_THAT(cancelled, IsOk());
  EXPECT_EQ(cancelled->state, S::kCancelled);
  EXPECT_EQ(cancelled->cancel_reason, "synthetic");
  EXPECT_EQ(ClockState(*cancelled, deadline::kRequestProcessor),
            deadline::DeadlineState::kCancelled);
  EXPECT_EQ(ClockState(*cancelled, deadline::kRequestGdpr), deadline::DeadlineState::kCancelled);
  EXPECT_THAT(Verify(created->request.id), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RequestStateMachineTest, AnInProgressRequestCannotBeRejected) {
  auto created = File(RequestType::kAccess, 1, /*verified=*/true);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->request.state, S::kInProgress);
  auto rejected = Reject(created->request.id);
  ASSERT_THAT(rejected, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(PreconditionViolationsOf(rejected.status()).at(0).type, "STATE");
}

TEST_F(RequestStateMachineTest, AnUnknownRequestIsNotFound) {
  EXPECT_THAT(Verify("pr_missing"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Reject("pr_missing"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Cancel("pr_missing"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Get("pr_missing"), StatusIs(absl::StatusCode::kNotFound));
}

// Migration 20 (AIP-122 collection ids): a database whose clocks still name
// their request "privacy_requests/{id}" finds them again under
// "privacyRequests/{id}" once it has run.
TEST_F(RequestStateMachineTest, Migration20RenamesTheClocksOfStoredRequests) {
  auto created = File(RequestType::kAccess);
  ASSERT_THAT(created, IsOk());
  const PrivacyRequest& r = created->request;
  ASSERT_EQ(r.name(), "privacyRequests/" + r.id);
  ASSERT_EQ(ClockState(r, deadline::kRequestGdpr), deadline::DeadlineState::kOpen);
  // As a database from before migration 20 holds them.
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
    txn.db().exec(
        "UPDATE deadlines SET resource = 'privacy_requests/' || substr(resource, 17) "
        "WHERE resource LIKE 'privacyRequests/%'");
    return absl::OkStatus();
  }),
              IsOk());
  int old_names = 0;
  ASSERT_THAT(store_->Read([&](store::ReadTxn& txn) {
    old_names = txn.db().execAndGet(
        "SELECT count(*) FROM deadlines WHERE resource = 'privacy_requests/" + r.id + "'");
    return absl::OkStatus();
  }),
              IsOk());
  ASSERT_EQ(old_names, 2);  // request.processor and request.gdpr
  const store::Migration& m20 = store::DsarMigrations()[19];
  ASSERT_EQ(m20.version, 20);
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
    txn.db().exec(m20.sql);
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(ClockState(r, deadline::kRequestGdpr), deadline::DeadlineState::kOpen);
  EXPECT_EQ(ClockState(r, deadline::kRequestProcessor), deadline::DeadlineState::kOpen);
}

}  // namespace
}  // namespace dsar::privacy_requests
