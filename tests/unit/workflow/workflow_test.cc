// lib/workflow over a real SQLite store, a real outbox and deadline engine and
// a fake clock: what a consent change sets in motion, the deadline of a
// dead-lettered task, and the routing of task outcomes. Tasks are claimed and
// finished through task_store directly; no dispatcher runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lib/connector/outbox.h"
#include "lib/connector/payload.h"
#include "lib/connector/registry.h"
#include "lib/connector/task_store.h"
#include "lib/consent/receipt_name.h"
#include "lib/core/clock.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/kinds.h"
#include "lib/privacy_requests/request.h"
#include "lib/store/store.h"
#include "lib/workflow/consent_propagation.h"
#include "lib/workflow/dead_letter_deadlines.h"
#include "lib/workflow/task_outcome_router.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace dsar::workflow {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kTenant[] = "tenant-0001";
constexpr char kOwner[] = "test-owner";

connector::ConnectorInfo Connector(const std::string& name, std::vector<std::string> purposes) {
  connector::ConnectorInfo c;
  c.name = name;
  c.endpoint.address = "127.0.0.1:1";
  c.kinds = {connector::TaskKind::kConsentApply, connector::TaskKind::kSubjectErase};
  c.purposes = std::move(purposes);
  return c;
}

class WorkflowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions options;
    options.path = dir_.File("dsar.db");
    auto store = store::Store::Open(options);
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    auto deadlines = deadline::Deadlines::Create(deadline::DeadlineOptions());
    ASSERT_THAT(deadlines, IsOk());
    deadlines_ = std::move(*deadlines);
    registry_ =
        std::make_unique<connector::ConnectorRegistry>(std::vector<connector::ConnectorInfo>{
            Connector("booking", {"marketing"}), Connector("crm", {"marketing", "support"})});
    auto sealer = connector::PayloadSealer::FromSecret("0123456789abcdef0123456789abcdef-test");
    ASSERT_THAT(sealer, IsOk());
    sealer_ = std::move(*sealer);
    outbox_ = std::make_unique<connector::Outbox>(registry_.get(), sealer_.get());
  }

  // Runs `fn` in one write transaction and waits for its commit.
  absl::Status Write(const std::function<absl::Status(store::WriteTxn&)>& fn) {
    return store_->WriteAndWait([&](store::WriteTxn& txn) { return fn(txn); });
  }

  consent::ConsentReceipt Receipt(const std::string& id, const std::string& purpose) {
    consent::ConsentReceipt r;
    r.receipt_id = id;
    r.tenant = kTenant;
    r.purpose = purpose;
    return r;
  }

  // A consent change as the ledger reports it, in its own transaction.
  absl::Status Change(ConsentPropagation& propagation, const consent::ConsentReceipt& receipt,
                      consent::ConsentAction action) {
    CallContext ctx;
    ctx.tenant = kTenant;
    return Write([&](store::WriteTxn& txn) {
      return propagation.OnChanged(txn, ctx, receipt, action,
                                   {IdentifierType::kCustomerId, "cust-0001"}, clock_.Now(),
                                   clock_.Now());
    });
  }

  // Claims every due task of `connector` and ends it in `state`, telling
  // `hook` in the same transaction; returns the tasks.
  std::vector<connector::TaskInfo> FinishAll(const std::string& connector_name,
                                             connector::TaskState state,
                                             connector::TaskResultHook* hook) {
    std::vector<connector::TaskInfo> finished;
    EXPECT_THAT(Write([&](store::WriteTxn& txn) -> absl::Status {
                  const absl::Time now = clock_.Now();
                  for (auto& claimed : connector::task_store::Claim(
                           txn, connector_name, kOwner, now, now + absl::Minutes(1), 100)) {
                    connector::TaskInfo info = claimed.info;
                    info.state = state;
                    if (!connector::task_store::Finish(txn, info.task_id, kOwner, state, {}, "",
                                                       connector::task_store::kNever, now, true)) {
                      return absl::InternalError("lease lost");
                    }
                    if (hook != nullptr) {
                      if (absl::Status s = hook->OnTaskFinished(txn, info, now); !s.ok()) return s;
                    }
                    finished.push_back(info);
                  }
                  return absl::OkStatus();
                }),
                IsOk());
    return finished;
  }

  absl::StatusOr<deadline::Deadline> FindDeadline(const std::string& kind,
                                                  const std::string& resource) {
    absl::StatusOr<deadline::Deadline> out = absl::UnknownError("not read");
    absl::Status s = store_->Read([&](store::ReadTxn& txn) {
      out = deadlines_->Find(txn, {kTenant, kind, resource});
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }

  std::vector<connector::TaskInfo> Tasks(const std::string& resource) {
    connector::task_store::ListQuery q;
    q.tenant = kTenant;
    q.resource = resource;
    absl::StatusOr<connector::task_store::TaskPage> page = absl::UnknownError("not read");
    EXPECT_THAT(store_->Read([&](store::ReadTxn& txn) {
      page = connector::task_store::List(txn, q);
      return page.status();
    }),
                IsOk());
    return page.ok() ? page->tasks : std::vector<connector::TaskInfo>{};
  }

  ::dsar::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<deadline::Deadlines> deadlines_;
  std::unique_ptr<connector::ConnectorRegistry> registry_;
  std::unique_ptr<connector::PayloadSealer> sealer_;
  std::unique_ptr<connector::Outbox> outbox_;
};

TEST_F(WorkflowTest, AWithdrawalReachesEverySystemDeclaringThePurposeAndStartsItsClock) {
  ConsentPropagation propagation(deadlines_.get());
  propagation.set_outbox(outbox_.get());
  ASSERT_THAT(Change(propagation, Receipt("rcpt_1", "support"), consent::ConsentAction::kWithdrawn),
              IsOk());
  const std::string name = consent::ReceiptName("rcpt_1");
  std::vector<connector::TaskInfo> tasks = Tasks(name);
  ASSERT_THAT(tasks, SizeIs(1));  // only the CRM declares support
  EXPECT_EQ(tasks[0].connector, "crm");
  EXPECT_EQ(tasks[0].kind, connector::TaskKind::kConsentApply);
  auto clock = FindDeadline(deadline::kConsentWithdrawalPropagation, name);
  ASSERT_THAT(clock, IsOk());
  EXPECT_EQ(clock->state, deadline::DeadlineState::kOpen);
  EXPECT_EQ(clock->due_at, clock_.Now() + absl::Hours(72));
}

TEST_F(WorkflowTest, AGrantPropagatesWithoutAClock) {
  ConsentPropagation propagation(deadlines_.get());
  propagation.set_outbox(outbox_.get());
  ASSERT_THAT(Change(propagation, Receipt("rcpt_2", "marketing"), consent::ConsentAction::kGiven),
              IsOk());
  EXPECT_THAT(Tasks(consent::ReceiptName("rcpt_2")), SizeIs(2));
  EXPECT_THAT(FindDeadline(deadline::kConsentWithdrawalPropagation, consent::ReceiptName("rcpt_2")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(WorkflowTest, WithoutConnectorsAChangeSetsNothingInMotion) {
  ConsentPropagation propagation(deadlines_.get());  // no outbox
  ASSERT_THAT(
      Change(propagation, Receipt("rcpt_3", "marketing"), consent::ConsentAction::kWithdrawn),
      IsOk());
  EXPECT_THAT(Tasks(consent::ReceiptName("rcpt_3")), IsEmpty());
  EXPECT_THAT(FindDeadline(deadline::kConsentWithdrawalPropagation, consent::ReceiptName("rcpt_3")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(WorkflowTest, TheWithdrawalClockStopsWhenTheLastSystemHasApplied) {
  ConsentPropagation propagation(deadlines_.get());
  propagation.set_outbox(outbox_.get());
  ASSERT_THAT(
      Change(propagation, Receipt("rcpt_4", "marketing"), consent::ConsentAction::kWithdrawn),
      IsOk());
  const std::string name = consent::ReceiptName("rcpt_4");
  ASSERT_THAT(FinishAll("booking", connector::TaskState::kDone, &propagation), SizeIs(1));
  auto clock = FindDeadline(deadline::kConsentWithdrawalPropagation, name);
  ASSERT_THAT(clock, IsOk());
  EXPECT_EQ(clock->state, deadline::DeadlineState::kOpen);  // the CRM has not applied it yet
  clock_.Advance(absl::Hours(1));
  // A system that does not know the person has nothing to apply: that ends it too.
  ASSERT_THAT(FinishAll("crm", connector::TaskState::kNoMatch, &propagation), SizeIs(1));
  clock = FindDeadline(deadline::kConsentWithdrawalPropagation, name);
  ASSERT_THAT(clock, IsOk());
  EXPECT_EQ(clock->state, deadline::DeadlineState::kCompleted);
  EXPECT_EQ(clock->closed_at, clock_.Now());
}

TEST_F(WorkflowTest, ReadPropagationShowsEachSystemsTaskOldestFirst) {
  ConsentPropagation propagation(deadlines_.get());
  propagation.set_outbox(outbox_.get());
  consent::ConsentReceipt receipt = Receipt("rcpt_5", "support");
  ASSERT_THAT(Change(propagation, receipt, consent::ConsentAction::kGiven), IsOk());
  clock_.Advance(absl::Hours(1));
  receipt.withdrawn_at = clock_.Now();
  ASSERT_THAT(Change(propagation, receipt, consent::ConsentAction::kWithdrawn), IsOk());
  ASSERT_THAT(
      store_->Read([&](store::ReadTxn& txn) { return propagation.ReadPropagation(txn, &receipt); }),
      IsOk());
  ASSERT_THAT(receipt.propagation, SizeIs(2));
  EXPECT_EQ(receipt.propagation[0].action, consent::ConsentAction::kGiven);
  EXPECT_EQ(receipt.propagation[1].action, consent::ConsentAction::kWithdrawn);
  EXPECT_EQ(receipt.propagation[1].connector, "crm");
  EXPECT_EQ(receipt.propagation[1].state, "pending");
}

TEST_F(WorkflowTest, ADeadLetteredTaskOpensOneDeadlineThatItsFinishingCloses) {
  DeadLetterDeadlines dead_letters(deadlines_.get());
  connector::TaskInfo task;
  task.tenant = kTenant;
  task.task_id = "task_0001";
  task.resource = privacy_requests::RequestName("pr_1");
  const std::string name = connector::TaskName(task.task_id);
  // The usual case: a task finishing that never died.
  ASSERT_THAT(Write([&](store::WriteTxn& txn) {
                return dead_letters.OnTaskFinished(txn, task, clock_.Now());
              }),
              IsOk());
  EXPECT_THAT(FindDeadline(deadline::kConnectorTaskDead, name),
              StatusIs(absl::StatusCode::kNotFound));
  // Dies twice (retried in between): one deadline, still open.
  for (int i = 0; i < 2; ++i) {
    ASSERT_THAT(Write([&](store::WriteTxn& txn) {
                  return dead_letters.OnDeadLettered(txn, task, clock_.Now());
                }),
                IsOk());
  }
  auto open = FindDeadline(deadline::kConnectorTaskDead, name);
  ASSERT_THAT(open, IsOk());
  EXPECT_EQ(open->state, deadline::DeadlineState::kOpen);
  EXPECT_EQ(open->started_at, clock_.Now());
  clock_.Advance(absl::Hours(2));
  ASSERT_THAT(Write([&](store::WriteTxn& txn) {
                return dead_letters.OnTaskFinished(txn, task, clock_.Now());
              }),
              IsOk());
  auto closed = FindDeadline(deadline::kConnectorTaskDead, name);
  ASSERT_THAT(closed, IsOk());
  EXPECT_EQ(closed->deadline_id, open->deadline_id);
  EXPECT_EQ(closed->state, deadline::DeadlineState::kCompleted);
}

// Records what it was told, as "<name>:<task id>"; fails when asked to.
class RecordingHook final : public connector::TaskResultHook, public connector::DeadLetterHook {
 public:
  RecordingHook(std::string name, std::vector<std::string>* log)
      : name_(std::move(name)), log_(log) {}
  absl::Status OnTaskFinished(store::WriteTxn&, const connector::TaskInfo& task,
                              absl::Time) override {
    log_->push_back(name_ + ":finished:" + task.task_id);
    return status_;
  }
  absl::Status OnDeadLettered(store::WriteTxn&, const connector::TaskInfo& task,
                              absl::Time) override {
    log_->push_back(name_ + ":dead:" + task.task_id);
    return status_;
  }
  void Fail(absl::Status s) { status_ = std::move(s); }

 private:
  const std::string name_;
  std::vector<std::string>* const log_;
  absl::Status status_;
};

TEST_F(WorkflowTest, OutcomesGoToTheModuleOfTheTasksCollectionAfterTheHooksForAll) {
  std::vector<std::string> log;
  RecordingHook all("all", &log), consents("consents", &log), requests("requests", &log);
  TaskOutcomeRouter router;
  router.RegisterForAllResults(&all);
  router.RegisterForAllDeadLetters(&all);
  router.Register(consent::kConsentsCollection, &consents, nullptr);
  router.Register(privacy_requests::kPrivacyRequestsCollection, &requests, &requests);
  auto task = [](std::string id, std::string resource) {
    connector::TaskInfo t;
    t.tenant = kTenant;
    t.task_id = std::move(id);
    t.resource = std::move(resource);
    return t;
  };
  ASSERT_THAT(
      Write([&](store::WriteTxn& txn) -> absl::Status {
        const absl::Time now = clock_.Now();
        RETURN_IF_ERROR(router.OnTaskFinished(txn, task("t1", consent::ReceiptName("r1")), now));
        RETURN_IF_ERROR(router.OnDeadLettered(txn, task("t2", consent::ReceiptName("r1")), now));
        RETURN_IF_ERROR(
            router.OnDeadLettered(txn, task("t3", privacy_requests::RequestName("pr_1")), now));
        return router.OnTaskFinished(txn, task("t4", "breaches/br_1"), now);
      }),
      IsOk());
  EXPECT_THAT(log, ElementsAre("all:finished:t1", "consents:finished:t1", "all:dead:t2",
                               "all:dead:t3", "requests:dead:t3", "all:finished:t4"));
}

TEST_F(WorkflowTest, AHooksErrorStopsTheFanOutAndIsReturned) {
  std::vector<std::string> log;
  RecordingHook all("all", &log), consents("consents", &log);
  all.Fail(absl::UnavailableError("deadline engine down"));
  TaskOutcomeRouter router;
  router.RegisterForAllResults(&all);
  router.Register(consent::kConsentsCollection, &consents, nullptr);
  connector::TaskInfo t;
  t.task_id = "t1";
  t.resource = consent::ReceiptName("r1");
  EXPECT_THAT(
      Write([&](store::WriteTxn& txn) { return router.OnTaskFinished(txn, t, clock_.Now()); }),
      StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(log, ElementsAre("all:finished:t1"));
}

}  // namespace
}  // namespace dsar::workflow
