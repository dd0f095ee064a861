// Outbox and Dispatcher over a real SQLite store, with scripted connectors and
// a fake clock: claims, leases, retries with backoff, dead-lettering, the
// breaker, asynchronous backends, bounded concurrency. No sleeps: RunOnce()
// starts a round, WaitIdle() waits for its outcomes to be written.
#include "lib/connector/dispatcher.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "lib/connector/outbox.h"
#include "lib/connector/task_store.h"
#include "lib/core/errors.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/connector/fake_connector.h"

namespace dsar::connector {
namespace {

using ::dsar::connector::testing::FakeConnector;
using ::dsar::connector::testing::FixedRandom;
using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

constexpr char kTenant[] = "acme-travel";
constexpr char kEmail[] = "person-0001@example.invalid";

ConnectorInfo Connector(const std::string& name, std::vector<std::string> purposes) {
  ConnectorInfo c;
  c.name = name;
  c.endpoint.address = "127.0.0.1:1";
  c.call_timeout = absl::Seconds(1);
  c.export_timeout = absl::Seconds(5);
  c.max_concurrency = 2;
  c.backoff = {absl::Milliseconds(100), absl::Seconds(1)};
  c.backoff.max_attempts = 3;
  c.breaker.failure_threshold = 1000;
  c.breaker.open_duration = absl::Seconds(30);
  c.breaker.half_open_calls = 1;
  c.kinds = {TaskKind::kConsentApply, TaskKind::kSubjectExport, TaskKind::kSubjectErase};
  c.purposes = std::move(purposes);
  return c;
}

// Records dead-lettered tasks and checks they are dead inside the same
// transaction.
class RecordingHook final : public DeadLetterHook, public TaskResultHook {
 public:
  absl::Status OnDeadLettered(store::WriteTxn& txn, const TaskInfo& task, absl::Time) override {
    SQLite::Statement& q = txn.Prepare("SELECT state FROM outbox_tasks WHERE task_id = ?");
    q.bind(1, task.task_id);
    std::string state = q.executeStep() ? q.getColumn(0).getString() : "";
    q.reset();
    absl::MutexLock lock(&mu_);
    if (fail_next_dead_) {
      fail_next_dead_ = false;
      return absl::UnavailableError("alert sink down");
    }
    dead_.push_back(task.task_id + ":" + state);
    return absl::OkStatus();
  }
  absl::Status OnTaskFinished(store::WriteTxn&, const TaskInfo& task, absl::Time) override {
    absl::MutexLock lock(&mu_);
    finished_.push_back(task.task_id + ":" + TaskStateName(task.state));
    return absl::OkStatus();
  }
  void AwaitFinished(size_t n) {
    absl::MutexLock lock(&mu_);
    struct Arg {
      RecordingHook* self;
      size_t n;
    } arg{this, n};
    mu_.Await(absl::Condition(
        +[](Arg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS { return a->self->finished_.size() >= a->n; },
        &arg));
  }
  void FailNextDead() {
    absl::MutexLock lock(&mu_);
    fail_next_dead_ = true;
  }
  std::vector<std::string> dead() const {
    absl::MutexLock lock(&mu_);
    return dead_;
  }
  std::vector<std::string> finished() const {
    absl::MutexLock lock(&mu_);
    return finished_;
  }

 private:
  mutable absl::Mutex mu_;
  bool fail_next_dead_ = false;
  std::vector<std::string> dead_;
  std::vector<std::string> finished_;
};

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open(std::vector<ConnectorInfo> connectors = {}) {
    if (connectors.empty()) {
      connectors = {Connector("booking", {"booking", "marketing"}),
                    Connector("crm", {"customer_service", "marketing"})};
    }
    dispatchers_.clear();
    outbox_.reset();
    registry_ = std::make_unique<ConnectorRegistry>(std::move(connectors));
    if (!store_) {
      store::StoreOptions options;
      options.path = dir_.File("dsar.db");
      auto store = store::Store::Open(options);
      ASSERT_THAT(store, IsOk());
      store_ = std::move(*store);
    }
    auto sealer = PayloadSealer::FromSecret("0123456789abcdef0123456789abcdef-test-secret");
    ASSERT_THAT(sealer, IsOk());
    sealer_ = std::move(*sealer);
    outbox_ = std::make_unique<Outbox>(registry_.get(), sealer_.get());
  }

  Dispatcher& MakeDispatcher(const std::string& owner = "",
                             std::map<std::string, ConnectorClient*> clients = {},
                             absl::Duration health_interval = absl::ZeroDuration()) {
    DispatcherDeps deps;
    deps.store = store_.get();
    deps.clock = &clock_;
    deps.outbox = outbox_.get();
    deps.sealer = sealer_.get();
    if (clients.empty()) clients = {{"booking", &booking_}, {"crm", &crm_}};
    for (auto& [name, client] : clients) deps.clients[name] = client;
    deps.random = &random_;
    deps.dead_letters = &hook_;
    deps.results = &hook_;
    DispatcherOptions options;
    options.owner = owner;
    options.waiting_poll = absl::Seconds(2);
    options.health_interval = health_interval;
    dispatchers_.push_back(std::make_unique<Dispatcher>(std::move(deps), options));
    return *dispatchers_.back();
  }

  TaskSpec Spec(TaskKind kind = TaskKind::kSubjectErase) {
    TaskSpec spec;
    spec.tenant = kTenant;
    spec.kind = kind;
    spec.resource = "privacyRequests/pr_test";
    spec.subject = {{IdentifierType::kEmail, kEmail}, {IdentifierType::kCustomerId, "cust-0001"}};
    return spec;
  }

  absl::StatusOr<std::string> Enqueue(TaskSpec spec) {
    absl::StatusOr<std::string> id = absl::InternalError("not run");
    absl::Status s = store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
      id = outbox_->EnqueueTask(txn, spec, clock_.Now());
      return id.status();
    });
    if (!s.ok()) return s;
    return id;
  }

  std::string EnqueueOk(const std::string& connector, TaskKind kind = TaskKind::kSubjectErase) {
    TaskSpec spec = Spec(kind);
    spec.connector = connector;
    if (kind == TaskKind::kConsentApply) spec.purpose = "marketing";
    auto id = Enqueue(spec);
    EXPECT_THAT(id, IsOk());
    return id.ok() ? *id : "";
  }

  TaskInfo Task(const std::string& id) {
    TaskInfo out;
    EXPECT_THAT(store_->Read([&](store::ReadTxn& txn) {
      auto t = task_store::Get(txn, kTenant, id);
      if (!t.ok()) return t.status();
      out = *t;
      return absl::OkStatus();
    }),
                IsOk());
    return out;
  }

  int64_t PayloadBytes(const std::string& id) {
    int64_t n = -1;
    EXPECT_THAT(store_->Read([&](store::ReadTxn& txn) {
      SQLite::Statement& q =
          txn.Prepare("SELECT length(payload) FROM outbox_tasks WHERE task_id = ?");
      q.bind(1, id);
      if (q.executeStep()) n = q.getColumn(0).getInt64();
      q.reset();
      return absl::OkStatus();
    }),
                IsOk());
    return n;
  }

  // One round, then wait for every outcome.
  int Round(Dispatcher& d) {
    int n = d.RunOnce();
    d.WaitIdle();
    return n;
  }

  ::dsar::testing::TempDir dir_;
  FakeClock clock_;
  FixedRandom random_{0.5};
  FakeConnector booking_, crm_;
  RecordingHook hook_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ConnectorRegistry> registry_;
  std::unique_ptr<PayloadSealer> sealer_;
  std::unique_ptr<Outbox> outbox_;
  std::vector<std::unique_ptr<Dispatcher>> dispatchers_;
};

TEST_F(DispatcherTest, FanOutWritesOneTaskPerConnectorThatMustSeeTheJob) {
  std::vector<std::string> erase_ids, consent_ids;
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    auto e = outbox_->EnqueueFanOut(txn, Spec(), clock_.Now());
    if (!e.ok()) return e.status();
    erase_ids = *e;
    TaskSpec consent = Spec(TaskKind::kConsentApply);
    consent.purpose = "customer_service";
    auto c = outbox_->EnqueueFanOut(txn, consent, clock_.Now());
    if (!c.ok()) return c.status();
    consent_ids = *c;
    return absl::OkStatus();
  }),
              IsOk());
  ASSERT_THAT(erase_ids, SizeIs(2));
  EXPECT_THAT(
      (std::vector<std::string>{Task(erase_ids[0]).connector, Task(erase_ids[1]).connector}),
      UnorderedElementsAre("booking", "crm"));
  ASSERT_THAT(consent_ids, SizeIs(1));  // only the CRM declares customer_service
  EXPECT_EQ(Task(consent_ids[0]).connector, "crm");
  EXPECT_EQ(Task(consent_ids[0]).state, TaskState::kPending);
  EXPECT_EQ(Task(erase_ids[0]).resource, "privacyRequests/pr_test");
}

TEST_F(DispatcherTest, SubjectIdentifiersAreNeverStoredInClear) {
  std::string id = EnqueueOk("booking");
  EXPECT_GT(PayloadBytes(id), 40);
  store_->Close();
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(dir_.File(std::string("dsar.db") + suffix), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    EXPECT_EQ(bytes.str().find(kEmail), std::string::npos) << suffix;
    EXPECT_EQ(bytes.str().find("cust-0001"), std::string::npos) << suffix;
  }
}

TEST_F(DispatcherTest, EnqueueRejectsBadTasksAndWritesNothing) {
  TaskSpec no_tenant = Spec();
  no_tenant.connector = "booking";
  no_tenant.tenant.clear();
  auto s = Enqueue(no_tenant);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(FieldViolationsOf(s.status()), SizeIs(1));
  EXPECT_EQ(FieldViolationsOf(s.status())[0].field, "tenant");

  TaskSpec no_subject = Spec();
  no_subject.connector = "booking";
  no_subject.subject.clear();
  EXPECT_THAT(Enqueue(no_subject), StatusIs(absl::StatusCode::kInvalidArgument));

  TaskSpec consent = Spec(TaskKind::kConsentApply);
  consent.connector = "booking";
  EXPECT_THAT(Enqueue(consent), StatusIs(absl::StatusCode::kInvalidArgument));  // no purpose

  TaskSpec unknown = Spec();
  unknown.connector = "ledger";
  EXPECT_THAT(Enqueue(unknown), StatusIs(absl::StatusCode::kNotFound));

  TaskSpec fixed = Spec();
  fixed.connector = "booking";
  fixed.task_id = "task-fixed-1";
  EXPECT_THAT(Enqueue(fixed), IsOk());
  EXPECT_THAT(Enqueue(fixed), StatusIs(absl::StatusCode::kAlreadyExists));

  int64_t rows = -1;
  ASSERT_THAT(store_->Read([&](store::ReadTxn& txn) {
    SQLite::Statement& q = txn.Prepare("SELECT count(*) FROM outbox_tasks");
    if (q.executeStep()) rows = q.getColumn(0).getInt64();
    q.reset();
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(rows, 1);
}

TEST_F(DispatcherTest, EnqueueRefusesAConnectorThatDoesNotTakeTheKind) {
  auto crm = Connector("crm", {"marketing"});
  crm.kinds = {TaskKind::kSubjectExport};
  crm.tenant = "other-tenant";
  Open({Connector("booking", {}), crm});
  TaskSpec spec = Spec();
  spec.connector = "crm";
  EXPECT_THAT(Enqueue(spec), StatusIs(absl::StatusCode::kFailedPrecondition));
  std::vector<std::string> ids;
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    auto e = outbox_->EnqueueFanOut(txn, Spec(TaskKind::kSubjectExport), clock_.Now());
    if (e.ok()) ids = *e;
    return e.status();
  }),
              IsOk());
  ASSERT_THAT(ids, SizeIs(1));  // the CRM serves another tenant
  EXPECT_EQ(Task(ids[0]).connector, "booking");
}

TEST_F(DispatcherTest, TaskRunsToDoneWithTheConnectorsCountsAndItsPayloadIsWiped) {
  std::string id = EnqueueOk("booking");
  Dispatcher& d = MakeDispatcher();
  EXPECT_EQ(Round(d), 1);
  TaskInfo t = Task(id);
  EXPECT_EQ(t.state, TaskState::kDone);
  EXPECT_EQ(t.attempts, 1);
  EXPECT_EQ(t.result.deleted, 3);
  EXPECT_EQ(t.result.anonymised, 2);
  ASSERT_THAT(t.result.kept, SizeIs(1));
  EXPECT_EQ(t.result.kept[0].reason, "legal_hold");
  EXPECT_EQ(t.next_attempt, absl::InfiniteFuture());
  EXPECT_EQ(PayloadBytes(id), 0);
  EXPECT_THAT(booking_.task_ids(), ElementsAre(id));
  ASSERT_THAT(booking_.last_subject(), SizeIs(2));
  EXPECT_EQ(booking_.last_subject()[0].value, kEmail);
  EXPECT_THAT(hook_.finished(), ElementsAre(id + ":done"));
  EXPECT_EQ(Round(d), 0);  // nothing left
}

TEST_F(DispatcherTest, ConsentChangeCarriesPurposeAndDirection) {
  TaskSpec spec = Spec(TaskKind::kConsentApply);
  spec.connector = "crm";
  spec.purpose = "marketing";
  spec.consent_given = false;
  spec.change_time = clock_.Now() - absl::Minutes(5);
  ASSERT_THAT(Enqueue(spec), IsOk());
  Dispatcher& d = MakeDispatcher();
  EXPECT_EQ(Round(d), 1);
  ConsentCall call = crm_.last_consent();
  EXPECT_EQ(call.purpose, "marketing");
  EXPECT_FALSE(call.given);
  EXPECT_EQ(call.change_time, clock_.Now() - absl::Minutes(5));
  EXPECT_EQ(call.target.tenant, kTenant);
}

TEST_F(DispatcherTest, ExportCountsTheStreamedRecords) {
  std::string id = EnqueueOk("crm", TaskKind::kSubjectExport);
  Dispatcher& d = MakeDispatcher();
  EXPECT_EQ(Round(d), 1);
  EXPECT_EQ(Task(id).state, TaskState::kDone);
  EXPECT_EQ(Task(id).result.records, 3);
}

TEST_F(DispatcherTest, TransientErrorIsRetriedAfterJitteredBackoff) {
  std::string id = EnqueueOk("booking");
  booking_.Script({absl::UnavailableError("down"), absl::DeadlineExceededError("slow")});
  Dispatcher& d = MakeDispatcher();
  const absl::Time t0 = clock_.Now();
  EXPECT_EQ(Round(d), 1);
  TaskInfo t = Task(id);
  EXPECT_EQ(t.state, TaskState::kFailed);
  EXPECT_EQ(t.attempts, 1);
  EXPECT_THAT(t.last_error, HasSubstr("UNAVAILABLE"));
  // Retry 1: ceiling 100 ms, draw 0.5.
  EXPECT_EQ(t.next_attempt, t0 + absl::Milliseconds(50));
  EXPECT_EQ(Round(d), 0);  // not due yet
  clock_.Advance(absl::Milliseconds(50));
  EXPECT_EQ(Round(d), 1);
  t = Task(id);
  EXPECT_EQ(t.state, TaskState::kFailed);
  // Retry 2: ceiling 200 ms, draw 0.5.
  EXPECT_EQ(t.next_attempt, clock_.Now() + absl::Milliseconds(100));
  clock_.Advance(absl::Milliseconds(100));
  EXPECT_EQ(Round(d), 1);
  t = Task(id);
  EXPECT_EQ(t.state, TaskState::kDone);
  EXPECT_EQ(t.attempts, 3);
  EXPECT_EQ(t.last_error, "");
}

TEST_F(DispatcherTest, AttemptBudgetSpentDeadLettersOnceInTheSameTransaction) {
  std::string id = EnqueueOk("booking");
  booking_.FailAlways(absl::UnavailableError("down"));
  Dispatcher& d = MakeDispatcher();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Round(d), 1) << i;
    clock_.Advance(absl::Seconds(5));
  }
  TaskInfo t = Task(id);
  EXPECT_EQ(t.state, TaskState::kDead);
  EXPECT_EQ(t.attempts, 3);
  EXPECT_EQ(t.next_attempt, absl::InfiniteFuture());
  EXPECT_GT(PayloadBytes(id), 0);  // kept for RetryTask
  // The hook saw the row already dead, i.e. inside the dead-lettering write.
  EXPECT_THAT(hook_.dead(), ElementsAre(id + ":dead"));
  EXPECT_EQ(Round(d), 0);
  EXPECT_THAT(hook_.dead(), SizeIs(1));
}

TEST_F(DispatcherTest, HookFailureRollsBackTheDeadLetteringUntilTheLeaseExpires) {
  std::string id = EnqueueOk("booking");
  booking_.FailAlways(absl::InvalidArgumentError("bad subject"));
  hook_.FailNextDead();
  Dispatcher& d = MakeDispatcher();
  EXPECT_EQ(Round(d), 1);
  EXPECT_EQ(Task(id).state, TaskState::kRunning);  // rolled back, lease still held
  EXPECT_EQ(Round(d), 0);
  clock_.Advance(absl::Seconds(5) + absl::Seconds(30));  // export deadline + margin
  EXPECT_EQ(Round(d), 1);
  EXPECT_EQ(Task(id).state, TaskState::kDead);
  EXPECT_THAT(hook_.dead(), ElementsAre(id + ":dead"));
}

TEST_F(DispatcherTest, PermanentErrorDeadLettersAtOnce) {
  std::string id = EnqueueOk("crm");
  crm_.Script({absl::InvalidArgumentError("subject has no usable identifier")});
  Dispatcher& d = MakeDispatcher();
  EXPECT_EQ(Round(d), 1);
  TaskInfo t = Task(id);
  EXPECT_EQ(t.state, TaskState::kDead);
  EXPECT_EQ(t.attempts, 1);
  EXPECT_EQ(t.last_error, "INVALID_ARGUMENT: subject has no usable identifier");
}

TEST_F(DispatcherTest, OpenTasksOfAResourceAreThoseWithoutAnOutcome) {
  auto count = [&](const std::string& resource) {
    int64_t n = -1;
    EXPECT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
      n = task_store::CountOpenTasksForResource(txn, kTenant, resource);
      return absl::OkStatus();
    }),
                IsOk());
    return n;
  };
  EnqueueOk("booking");
  EnqueueOk("crm");
  TaskSpec other = Spec();
  other.connector = "booking";
  other.resource = "privacyRequests/pr_other";
  ASSERT_THAT(Enqueue(other), IsOk());
  EXPECT_EQ(count("privacyRequests/pr_test"), 2);
  // Done is an outcome; dead is not (a retry may still run it).
  crm_.FailAlways(absl::InvalidArgumentError("subject has no usable identifier"));
  Dispatcher& d = MakeDispatcher();
  EXPECT_EQ(Round(d), 3);
  EXPECT_EQ(count("privacyRequests/pr_test"), 1);
  EXPECT_EQ(count("privacyRequests/pr_other"), 0);
  EXPECT_EQ(count("privacyRequests/pr_none"), 0);
}

TEST_F(DispatcherTest, UnimplementedOperationIsSkippedWithAReason) {
  std::string id = EnqueueOk("crm", TaskKind::kConsentApply);
  crm_.Script({absl::UnimplementedError("no consent here")});
  Dispatcher& d = MakeDispatcher();
  EXPECT_EQ(Round(d), 1);
  TaskInfo t = Task(id);
  EXPECT_EQ(t.state, TaskState::kSkipped);
  EXPECT_EQ(t.result.skip_reason, "connector does not implement ApplyConsentChange");
  EXPECT_THAT(hook_.finished(), ElementsAre(id + ":skipped"));
}

TEST_F(DispatcherTest, AConsentChangeThatMatchedNoRecordEndsNoMatchNotDone) {
  std::string id = EnqueueOk("crm", TaskKind::kConsentApply);
  crm_.KnowNobody();
  Dispatcher& d = MakeDispatcher();
  EXPECT_EQ(Round(d), 1);
  TaskInfo t = Task(id);
  EXPECT_EQ(t.state, TaskState::kNoMatch);
  EXPECT_EQ(t.result.affected, 0);
  EXPECT_EQ(PayloadBytes(id), 0);  // finished: the identifiers are wiped
  EXPECT_THAT(hook_.finished(), ElementsAre(id + ":no_match"));
  EXPECT_EQ(Round(d), 0);  // not retried
  // Listed by its state (ListTasks --state no-matching-record), and only then.
  task_store::ListQuery q;
  q.tenant = kTenant;
  for (auto [states, expected] : std::vector<std::pair<std::vector<TaskState>, size_t>>{
           {{TaskState::kNoMatch}, 1}, {{TaskState::kDone}, 0}}) {
    q.states = states;
    absl::StatusOr<task_store::TaskPage> page;
    ASSERT_THAT(store_->Read([&](store::ReadTxn& txn) {
      page = task_store::List(txn, q);
      return page.status();
    }),
                IsOk());
    EXPECT_THAT(page->tasks, SizeIs(expected));
  }
}

TEST_F(DispatcherTest, AsynchronousBackendIsPolledWithoutSpendingAttempts) {
  std::string id = EnqueueOk("booking");
  booking_.InProgressFor(4);  // more polls than the attempt budget
  Dispatcher& d = MakeDispatcher();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(Round(d), 1) << i;
    TaskInfo t = Task(id);
    EXPECT_EQ(t.state, TaskState::kWaiting);
    EXPECT_EQ(t.attempts, 1);
    EXPECT_EQ(t.next_attempt, clock_.Now() + absl::Seconds(2));
    EXPECT_EQ(Round(d), 0);
    clock_.Advance(absl::Seconds(2));
  }
  EXPECT_EQ(Round(d), 1);
  EXPECT_EQ(Task(id).state, TaskState::kDone);
  EXPECT_EQ(Task(id).attempts, 1);
  EXPECT_THAT(booking_.task_ids(), ElementsAre(id, id, id, id, id));  // same id each time
}

TEST_F(DispatcherTest, ConcurrencyIsBoundedPerConnector) {
  for (int i = 0; i < 5; ++i) EnqueueOk("booking");
  std::string crm_task = EnqueueOk("crm");
  booking_.Close();
  Dispatcher& d = MakeDispatcher();
  EXPECT_EQ(d.RunOnce(), 3);  // two booking slots, one CRM task
  booking_.AwaitWaiting(2);
  EXPECT_EQ(d.RunOnce(), 0);  // booking slots full
  auto health = d.HealthOf("booking");
  ASSERT_THAT(health, IsOk());
  EXPECT_EQ(health->in_flight, 2);
  booking_.Open();
  d.WaitIdle();
  EXPECT_EQ(Task(crm_task).state, TaskState::kDone);  // the slow connector did not block it
  EXPECT_EQ(Round(d), 2);
  EXPECT_EQ(Round(d), 1);
  EXPECT_EQ(booking_.calls(), 5);
  EXPECT_EQ(booking_.max_concurrent(), 2);
}

TEST_F(DispatcherTest, ALeasedTaskIsNotClaimedAgainUntilARestartReleasesIt) {
  std::string id = EnqueueOk("booking");
  FakeConnector stuck;
  stuck.Close();
  Dispatcher& first = MakeDispatcher("first", {{"booking", &stuck}, {"crm", &crm_}});
  Dispatcher& second = MakeDispatcher("second");
  EXPECT_EQ(first.RunOnce(), 1);
  stuck.AwaitWaiting(1);
  EXPECT_EQ(Task(id).state, TaskState::kRunning);
  EXPECT_EQ(second.RunOnce(), 0);  // leased by "first"
  // "first" is presumed dead (as after a crash): a restart re-leases its tasks.
  ASSERT_THAT(second.Recover(), IsOk());
  EXPECT_EQ(Round(second), 1);
  EXPECT_EQ(Task(id).state, TaskState::kDone);
  EXPECT_EQ(Task(id).attempts, 2);
  // The old owner's late answer cannot overwrite the task.
  stuck.FailAlways(absl::InvalidArgumentError("late"));
  stuck.Open();
  first.WaitIdle();
  EXPECT_EQ(Task(id).state, TaskState::kDone);
  EXPECT_EQ(Task(id).last_error, "");
  EXPECT_THAT(hook_.dead(), SizeIs(0));
  first.Stop(absl::Seconds(1));  // before `stuck`, which it calls, goes
}

TEST_F(DispatcherTest, BreakerOpensStopsClaimsAndClosesAfterASuccessfulProbe) {
  ConnectorInfo booking = Connector("booking", {});
  booking.breaker.failure_threshold = 2;
  booking.max_concurrency = 1;
  booking.backoff.max_attempts = 100;
  Open({booking, Connector("crm", {})});
  for (int i = 0; i < 4; ++i) EnqueueOk("booking");
  booking_.FailAlways(absl::UnavailableError("down"));
  Dispatcher& d = MakeDispatcher();
  EXPECT_EQ(Round(d), 1);
  EXPECT_EQ(Round(d), 1);
  auto health = d.HealthOf("booking");
  ASSERT_THAT(health, IsOk());
  EXPECT_EQ(health->breaker, delivery::CircuitBreaker::State::kOpen);
  EXPECT_EQ(health->error_rate, 1.0);
  EXPECT_EQ(health->last_error, "UNAVAILABLE");
  EXPECT_EQ(Round(d), 0);  // two tasks still pending, but the breaker is open
  EXPECT_EQ(booking_.calls(), 2);
  clock_.Advance(absl::Seconds(30));
  booking_.FailAlways(absl::OkStatus());
  EXPECT_EQ(Round(d), 1);  // one half-open probe
  health = d.HealthOf("booking");
  EXPECT_EQ(health->breaker, delivery::CircuitBreaker::State::kClosed);
  EXPECT_EQ(health->error_rate, 2.0 / 3.0);
  EXPECT_EQ(health->last_success, clock_.Now());
  EXPECT_EQ(Round(d), 1);  // the last pending task
  EXPECT_EQ(Round(d), 1);  // then the two failed ones, one at a time
  EXPECT_EQ(Round(d), 1);
  EXPECT_EQ(Round(d), 0);
}

TEST_F(DispatcherTest, RetryRevivesADeadTaskWithAFreshBudget) {
  std::string id = EnqueueOk("booking");
  booking_.Script({absl::PermissionDeniedError("token expired")});
  Dispatcher& d = MakeDispatcher();
  EXPECT_EQ(Round(d), 1);
  ASSERT_EQ(Task(id).state, TaskState::kDead);
  absl::StatusOr<TaskInfo> retried;
  ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
    retried = task_store::Retry(txn, kTenant, id, clock_.Now());
    return retried.status();
  }),
              IsOk());
  EXPECT_EQ(retried->state, TaskState::kPending);
  EXPECT_EQ(Task(id).attempts, 0);
  EXPECT_EQ(Round(d), 1);
  EXPECT_EQ(Task(id).state, TaskState::kDone);
  EXPECT_EQ(Task(id).attempts, 1);
  // Done tasks and other tenants' tasks cannot be retried.
  absl::Status again = store_->WriteAndWait([&](store::WriteTxn& txn) {
    return task_store::Retry(txn, kTenant, id, clock_.Now()).status();
  });
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::Status other = store_->WriteAndWait([&](store::WriteTxn& txn) {
    return task_store::Retry(txn, "other-tenant", id, clock_.Now()).status();
  });
  EXPECT_THAT(other, StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DispatcherTest, TasksOfAConnectorNoLongerConfiguredAreSkippedAtRecovery) {
  std::string id = EnqueueOk("crm");
  Open({Connector("booking", {})});  // the CRM was removed from the config
  Dispatcher& d = MakeDispatcher("", {{"booking", &booking_}});
  ASSERT_THAT(d.Recover(), IsOk());
  TaskInfo t = Task(id);
  EXPECT_EQ(t.state, TaskState::kSkipped);
  EXPECT_EQ(t.result.skip_reason, "connector not configured");
}

TEST_F(DispatcherTest, ListPagesNewestFirstAndFiltersByState) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(EnqueueOk(i % 2 ? "crm" : "booking"));
    clock_.Advance(absl::Seconds(1));
  }
  crm_.FailAlways(absl::InvalidArgumentError("no"));
  Dispatcher& d = MakeDispatcher();
  Round(d);
  task_store::ListQuery q;
  q.tenant = kTenant;
  q.page_size = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    absl::StatusOr<task_store::TaskPage> p;
    ASSERT_THAT(store_->Read([&](store::ReadTxn& txn) {
      p = task_store::List(txn, q);
      return p.status();
    }),
                IsOk());
    for (const auto& t : p->tasks) seen.push_back(t.task_id);
    if (p->next_page_token.empty()) break;
    q.page_token = p->next_page_token;
  }
  EXPECT_THAT(seen, ElementsAre(ids[4], ids[3], ids[2], ids[1], ids[0]));
  q = task_store::ListQuery();
  q.tenant = kTenant;
  q.states = {TaskState::kDead};
  absl::StatusOr<task_store::TaskPage> dead;
  ASSERT_THAT(store_->Read([&](store::ReadTxn& txn) {
    dead = task_store::List(txn, q);
    return dead.status();
  }),
              IsOk());
  ASSERT_THAT(dead->tasks, SizeIs(2));
  EXPECT_EQ(dead->tasks[0].task_id, ids[3]);
  q.page_token = "not-a-token";
  EXPECT_THAT(store_->Read([&](store::ReadTxn& txn) { return task_store::List(txn, q).status(); }),
              StatusIs(absl::StatusCode::kInvalidArgument));
  q.page_token.clear();
  q.tenant = "other-tenant";
  absl::StatusOr<task_store::TaskPage> other;
  ASSERT_THAT(store_->Read([&](store::ReadTxn& txn) {
    other = task_store::List(txn, q);
    return other.status();
  }),
              IsOk());
  EXPECT_THAT(other->tasks, SizeIs(0));
}

TEST_F(DispatcherTest, StartedDispatcherRunsNewTasksWhenNotified) {
  Dispatcher& d = MakeDispatcher();
  ASSERT_THAT(d.Start(), IsOk());
  std::string id = EnqueueOk("booking");
  outbox_->Notify();
  // The result hook runs inside the finishing write; WaitIdle then waits for
  // that write's commit.
  hook_.AwaitFinished(1);
  d.WaitIdle();
  EXPECT_EQ(Task(id).state, TaskState::kDone);
  d.Stop(absl::Seconds(1));
}

// A backend that accepts connections and never answers must not hold up
// shutdown for its probe's whole call timeout: Stop cancels the probe.
TEST_F(DispatcherTest, StopCancelsAHangingHealthProbe) {
  booking_.HangProbes();
  Dispatcher& d = MakeDispatcher("", {{"booking", &booking_}}, absl::Hours(1));
  ASSERT_THAT(d.Start(), IsOk());
  booking_.AwaitHangingProbe();
  d.Stop(absl::Seconds(1));  // before the fix: waited for the probe, i.e. for ever here
  EXPECT_GE(booking_.cancel_alls(), 1);
}

}  // namespace
}  // namespace dsar::connector
