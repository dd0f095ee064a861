// Connectors end to end with real processes: dsard and two refbackends
// (booking, CRM) on loopback. Jobs are enqueued the way every module does it,
// through Outbox::EnqueueFanOut in a write transaction on dsard's own database
// file (from this process; SQLite WAL serialises the two writers), and dsard's
// dispatcher finds them by polling the outbox. Tests synchronise on the
// processes' JSON log lines (and the crash test also on dsard's database write
// lock), never on sleeps.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "dsar/v1/connector_admin.grpc.pb.h"
#include "lib/connector/outbox.h"
#include "lib/connector/payload.h"
#include "lib/connector/registry.h"
#include "lib/core/config.h"
#include "lib/store/store.h"
#include "services/call_gate.h"
#include "tests/testing/child_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace dsar {
namespace {

using ::dsar::testing::ChildProcess;
using ::dsar::testing::IsOk;
using ::testing::SizeIs;

constexpr char kTenant[] = "acme-travel";
constexpr char kDpoToken[] = "e2e-token-dpo";

struct BackendFlags {
  std::vector<std::string> extra;  // e.g. {"--error-rate=0.3"}
  int port = 0;                    // 0: pick one
};

class ConnectorE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.File("subject.key")) << "e2e-subject-key-0123456789abcdef0123456789";
    // A test that goes wrong must fail, not hang on a log line that never
    // comes: after the deadline the children are killed, their output ends
    // and every wait returns.
    watchdog_ = std::thread([this] {
      absl::MutexLock lock(&mu_);
      if (!mu_.AwaitWithTimeout(absl::Condition(&finished_), absl::Seconds(120))) {
        ADD_FAILURE() << "watchdog: test took longer than 120 s; killing its processes";
        for (pid_t pid : live_) kill(pid, SIGKILL);
      }
    });
  }
  void TearDown() override {
    {
      absl::MutexLock lock(&mu_);
      finished_ = true;
    }
    watchdog_.join();
  }

  // Starts a child and registers it with the watchdog.
  std::unique_ptr<ChildProcess> Spawn(const std::vector<std::string>& argv) {
    auto child = std::make_unique<ChildProcess>(argv);
    absl::MutexLock lock(&mu_);
    live_.insert(child->pid());
    return child;
  }
  // Unregisters (before reaping, so the watchdog never signals a reused pid)
  // and waits for the child's exit.
  int Reap(ChildProcess& child) {
    {
      absl::MutexLock lock(&mu_);
      live_.erase(child.pid());
    }
    return child.Wait();
  }

  // Starts a refbackend and returns its port (0 on failure).
  int StartBackend(const std::string& kind, BackendFlags flags = {}) {
    std::vector<std::string> argv = {REFBACKEND_PATH,
                                     "--kind=" + kind,
                                     absl::StrCat("--listen=127.0.0.1:", flags.port),
                                     "--db=" + dir_.File(kind + ".db"),
                                     "--seed=7",
                                     "--people=40"};
    for (auto& f : flags.extra) argv.push_back(f);
    auto& proc = backends_[kind];
    if (proc) Reap(*proc);
    proc = Spawn(argv);
    auto line = proc->WaitForLine("\"event\":\"ready\"");
    if (!line) return 0;
    int port = nlohmann::json::parse(*line).value("port", 0);
    ports_[kind] = port;
    return port;
  }

  std::string ConnectorConfig(const std::string& name, int port, const std::string& tuning) {
    std::string purposes = name == "booking"
                               ? "purposes: \"booking\" purposes: \"marketing\""
                               : "purposes: \"customer_service\" purposes: \"marketing\"";
    return absl::StrCat("connectors {\n  name: \"", name, "\"\n  address: \"127.0.0.1:", port,
                        "\"\n  display_name: \"Reference ", name, "\"\n  ", purposes,
                        "\n  categories: \"identity\"\n  country: \"SE\"\n",
                        "  processor: \"Example ", name, " AB (synthetic)\"\n",
                        "  sub_processors { name: \"Example Hosting AB (synthetic)\" country: "
                        "\"SE\" service: \"hosting\" }\n  ",
                        tuning, "\n}\n");
  }

  // dsard's config with both backends; `tuning` goes into each connector.
  std::string DsardConfig(const std::string& tuning) {
    return absl::StrCat(
        "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\nshutdown_grace_ms: 2000\n",
        "database_path: \"", dir_.File("dsar.db"), "\"\n", "subject_key_file: \"",
        dir_.File("subject.key"), "\"\n",
        "tenants { id: \"acme-travel\" purposes { name: \"marketing\" current_notice_version: "
        "\"v1\" } }\n",
        "principals { name: \"dpo-acme\" role: \"dpo\" tenant: \"acme-travel\" token_sha256: \"",
        CallGate::TokenHash(kDpoToken), "\" }\n",
        ConnectorConfig("booking", ports_["booking"], tuning),
        ConnectorConfig("crm", ports_["crm"], tuning),
        "outbox { poll_interval_ms: 50 health_interval_ms: 200 waiting_poll_ms: 50 }\n");
  }

  // Starts dsard with `tuning` and waits for it to serve.
  bool StartDsard(const std::string& tuning) {
    config_text_ = DsardConfig(tuning);
    std::ofstream(dir_.File("dsard.textproto")) << config_text_;
    dsard_ = Spawn({DSARD_PATH, "--config", dir_.File("dsard.textproto")});
    auto line = dsard_->WaitForLine("\"event\":\"ready\"");
    if (!line) return false;
    int port = nlohmann::json::parse(*line).value("port", 0);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = v1::ConnectorService::NewStub(channel_);
    return port > 0;
  }

  // Enqueues one job for synthetic person `index` over every connector, as a
  // module would: inside a write transaction on dsard's database.
  std::vector<std::string> EnqueueJob(int index, connector::TaskKind kind,
                                      const std::string& purpose = "") {
    return EnqueueJobs({index}, kind, purpose);
  }

  // Enqueues one job per synthetic person in `people`, all in one write
  // transaction: dsard finds every task of them in the same poll.
  std::vector<std::string> EnqueueJobs(const std::vector<int>& people, connector::TaskKind kind,
                                       const std::string& purpose = "") {
    auto config = ParseDsardConfig(config_text_, "e2e");
    EXPECT_THAT(config, IsOk());
    if (!store_) {
      store::StoreOptions options;
      options.path = dir_.File("dsar.db");
      options.read_pool_size = 1;
      auto store = store::Store::Open(options);
      EXPECT_THAT(store, IsOk());
      store_ = std::move(*store);
    }
    registry_ = std::make_unique<connector::ConnectorRegistry>(
        connector::ConnectorRegistry::FromConfig(*config));
    auto sealer = connector::PayloadSealer::FromSecretFile(dir_.File("subject.key"));
    EXPECT_THAT(sealer, IsOk());
    sealer_ = std::move(*sealer);
    connector::Outbox outbox(registry_.get(), sealer_.get());
    std::vector<std::string> ids;
    EXPECT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
      ids.clear();
      for (int index : people) {
        connector::TaskSpec spec;
        spec.tenant = kTenant;
        spec.kind = kind;
        spec.resource = absl::StrCat("privacyRequests/pr_e2e_", index);
        spec.subject = {
            {connector::IdentifierType::kEmail,
             absl::StrFormat("person-%04d@example.invalid", index)},
            {connector::IdentifierType::kCustomerId, absl::StrFormat("cust-%04d", index)}};
        spec.purpose = purpose;
        auto e = outbox.EnqueueFanOut(txn, spec, absl::Now());
        if (!e.ok()) {
          ids.clear();
          return e.status();
        }
        ids.insert(ids.end(), e->begin(), e->end());
      }
      return absl::OkStatus();
    }),
                IsOk());
    return ids;
  }

  // Reads dsard's log until every id in `ids` has a line for `event` (and
  // state, when given), or until `enough` of them have. Returns the lines by
  // task id; fewer at EOF.
  std::map<std::string, nlohmann::json> AwaitTasks(ChildProcess& proc,
                                                   const std::set<std::string>& ids,
                                                   const std::string& event,
                                                   const std::string& state = "",
                                                   size_t enough = SIZE_MAX) {
    std::map<std::string, nlohmann::json> seen;
    while (seen.size() < std::min(ids.size(), enough)) {
      auto line = proc.ReadLine();
      if (!line) break;
      auto obj = nlohmann::json::parse(*line, nullptr, false);
      if (!obj.is_object()) continue;
      if (obj.value("event", "") == "connector_task_attempt_failed") ++failed_attempts_;
      if (obj.value("event", "") != event) continue;
      if (!state.empty() && obj.value("state", "") != state) continue;
      std::string id = obj.value("task_id", "");
      if (ids.count(id)) seen[id] = obj;
    }
    return seen;
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", kDpoToken));
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  std::map<std::string, v1::ConnectorTask> ListTasks(
      std::vector<v1::ConnectorTaskState> states = {}) {
    std::map<std::string, v1::ConnectorTask> out;
    v1::ListTasksRequest request;
    for (auto s : states) request.add_states(s);
    request.set_page_size(500);
    v1::ListTasksResponse response;
    auto ctx = Context();
    grpc::Status status = stub_->ListTasks(ctx.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const auto& t : response.tasks()) out[t.task_id()] = t;
    return out;
  }

  int64_t Query(const std::string& kind, const std::string& sql) {
    SQLite::Database db(dir_.File(kind + ".db"), SQLite::OPEN_READONLY);
    return db.execAndGet(sql).getInt64();
  }

  ::dsar::testing::TempDir dir_;
  std::map<std::string, std::unique_ptr<ChildProcess>> backends_;
  std::map<std::string, int> ports_;
  std::unique_ptr<ChildProcess> dsard_;
  std::string config_text_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ConnectorService::Stub> stub_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<connector::ConnectorRegistry> registry_;
  std::unique_ptr<connector::PayloadSealer> sealer_;
  int failed_attempts_ = 0;
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::set<pid_t> live_ ABSL_GUARDED_BY(mu_);
  std::thread watchdog_;
};

constexpr char kFastRetries[] =
    "max_attempts: 20 max_concurrency: 4 initial_backoff_ms: 10 max_backoff_ms: 100 "
    "call_timeout_ms: 3000 breaker { failure_threshold: 5 open_ms: 100 }";

TEST_F(ConnectorE2eTest, AJobFansOutToBothBackendsAndEachTaskEndsDone) {
  ASSERT_GT(StartBackend("booking"), 0);
  ASSERT_GT(StartBackend("crm"), 0);
  ASSERT_TRUE(StartDsard(kFastRetries)) << dsard_->output();
  const char* kAnonymisedRows =
      "SELECT (SELECT count(*) FROM bookings WHERE person_id IS NULL) + "
      "(SELECT count(*) FROM payments WHERE person_id IS NULL)";
  const int64_t anonymised_before = Query("booking", kAnonymisedRows);
  auto erase = EnqueueJob(7, connector::TaskKind::kSubjectErase);
  auto consent = EnqueueJob(8, connector::TaskKind::kConsentApply, "marketing");
  ASSERT_THAT(erase, SizeIs(2));
  ASSERT_THAT(consent, SizeIs(2));
  std::set<std::string> ids(erase.begin(), erase.end());
  ids.insert(consent.begin(), consent.end());
  auto finished = AwaitTasks(*dsard_, ids, "connector_task_finished", "done");
  ASSERT_EQ(finished.size(), 4u) << dsard_->output();

  auto tasks = ListTasks();
  for (const auto& id : ids) {
    ASSERT_TRUE(tasks.count(id)) << id;
    EXPECT_EQ(tasks[id].state(), v1::CONNECTOR_TASK_STATE_DONE) << id;
    EXPECT_EQ(tasks[id].attempts(), 1) << id;
  }
  // The person is gone from both systems; statistics rows stay anonymised.
  EXPECT_EQ(Query("booking", "SELECT count(*) FROM people WHERE customer_id = 'cust-0007'"), 0);
  EXPECT_EQ(Query("crm", "SELECT count(*) FROM contacts WHERE customer_id = 'cust-0007'"), 0);
  EXPECT_EQ(Query("crm",
                  "SELECT count(*) FROM emails WHERE address = "
                  "'person-0007@example.invalid'"),
            0);
  const v1::ConnectorTask& booking_erase =
      tasks[erase[0]].connector() == "booking" ? tasks[erase[0]] : tasks[erase[1]];
  EXPECT_GT(booking_erase.anonymised_count(), 0);
  EXPECT_EQ(Query("booking", kAnonymisedRows),
            anonymised_before + booking_erase.anonymised_count());
  EXPECT_EQ(Query("booking",
                  "SELECT count(*) FROM consents WHERE person_id = 8 AND purpose = "
                  "'marketing' AND given = 0"),
            1);

  // The register and health through the admin API.
  v1::ListConnectorsResponse connectors;
  auto ctx = Context();
  ASSERT_TRUE(stub_->ListConnectors(ctx.get(), {}, &connectors).ok());
  ASSERT_EQ(connectors.connectors_size(), 2);
  EXPECT_EQ(connectors.connectors(0).name(), "booking");
  EXPECT_EQ(connectors.connectors(0).country(), "SE");
  EXPECT_EQ(connectors.connectors(0).sub_processors(0).service(), "hosting");
  v1::GetConnectorHealthRequest health_request;
  health_request.set_name("crm");
  v1::GetConnectorHealthResponse health;
  ctx = Context();
  ASSERT_TRUE(stub_->GetConnectorHealth(ctx.get(), health_request, &health).ok());
  EXPECT_EQ(health.breaker_state(), v1::CIRCUIT_BREAKER_STATE_CLOSED);
  EXPECT_TRUE(health.has_last_success_time());
  EXPECT_EQ(health.error_rate(), 0.0);
}

TEST_F(ConnectorE2eTest, ThirtyPercentInjectedErrorsStillEndWithEveryTaskDone) {
  ASSERT_GT(StartBackend("booking", {{"--error-rate=0.3", "--fault-seed=11"}}), 0);
  ASSERT_GT(StartBackend("crm", {{"--error-rate=0.3", "--fault-seed=12"}}), 0);
  ASSERT_TRUE(StartDsard(kFastRetries)) << dsard_->output();
  std::set<std::string> ids;
  for (int person = 1; person <= 12; ++person) {
    for (const auto& id : EnqueueJob(person, connector::TaskKind::kSubjectErase)) ids.insert(id);
  }
  ASSERT_THAT(ids, SizeIs(24));
  auto finished = AwaitTasks(*dsard_, ids, "connector_task_finished", "done");
  EXPECT_EQ(finished.size(), 24u);
  EXPECT_GT(failed_attempts_, 0);  // the faults really happened
  auto tasks = ListTasks({v1::CONNECTOR_TASK_STATE_DONE});
  EXPECT_THAT(tasks, SizeIs(24));
  // Each backend acted once per task id.
  EXPECT_EQ(Query("booking", "SELECT count(*) FROM processed_tasks"), 12);
  EXPECT_EQ(Query("crm", "SELECT count(*) FROM processed_tasks"), 12);
}

TEST_F(ConnectorE2eTest, BackendDownPastTheBudgetDeadLettersAndRetryTaskFinishesIt) {
  ASSERT_GT(StartBackend("booking"), 0);
  int crm_port = StartBackend("crm");
  ASSERT_GT(crm_port, 0);
  ASSERT_TRUE(
      StartDsard("max_attempts: 3 initial_backoff_ms: 10 max_backoff_ms: 50 call_timeout_ms: 500 "
                 "breaker { failure_threshold: 100 }"))
      << dsard_->output();
  backends_["crm"]->Signal(SIGKILL);
  Reap(*backends_["crm"]);
  auto ids = EnqueueJob(3, connector::TaskKind::kSubjectErase);
  ASSERT_THAT(ids, SizeIs(2));
  auto tasks = ListTasks();
  std::string crm_task = tasks[ids[0]].connector() == "crm" ? ids[0] : ids[1];
  std::string booking_task = crm_task == ids[0] ? ids[1] : ids[0];
  // The task is dead-lettered and the deadline engine raises an alert for it
  // (a connector.task_dead deadline due at once); the two log lines may come
  // in either order.
  std::map<std::string, nlohmann::json> dead;
  bool alerted = false;
  while (dead.empty() || !alerted) {
    auto line = dsard_->ReadLine();
    ASSERT_TRUE(line.has_value()) << dsard_->output();
    auto obj = nlohmann::json::parse(*line, nullptr, false);
    if (!obj.is_object()) continue;
    if (obj.value("event", "") == "connector_task_dead_lettered" &&
        obj.value("task_id", "") == crm_task) {
      dead[crm_task] = obj;
    }
    if (obj.value("event", "") == "deadline_alert" &&
        obj.value("kind", "") == "connector.task_dead" && obj.value("alert_level", "") == "DUE") {
      alerted = true;
    }
  }
  EXPECT_EQ(dead[crm_task].value("attempts", 0), 3);
  // Refused connections wait for readiness within the call deadline.
  EXPECT_EQ(dead[crm_task].value("code", ""), "DEADLINE_EXCEEDED");
  auto dead_tasks = ListTasks({v1::CONNECTOR_TASK_STATE_DEAD});
  ASSERT_THAT(dead_tasks, SizeIs(1));
  EXPECT_EQ(dead_tasks.begin()->first, crm_task);
  EXPECT_EQ(ListTasks()[booking_task].state(), v1::CONNECTOR_TASK_STATE_DONE);

  // The CRM comes back on the same port with the same database.
  ASSERT_EQ(StartBackend("crm", {{}, crm_port}), crm_port);
  v1::RetryTaskRequest retry;
  retry.set_request_id("retry-crm-1");
  retry.set_task_id(crm_task);
  v1::RetryTaskResponse retried;
  auto ctx = Context();
  grpc::Status status = stub_->RetryTask(ctx.get(), retry, &retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(retried.task().state(), v1::CONNECTOR_TASK_STATE_PENDING);
  EXPECT_EQ(retried.task().attempts(), 0);
  auto done = AwaitTasks(*dsard_, {crm_task}, "connector_task_finished", "done");
  ASSERT_EQ(done.size(), 1u) << dsard_->output();
  EXPECT_EQ(ListTasks()[crm_task].state(), v1::CONNECTOR_TASK_STATE_DONE);
  EXPECT_EQ(Query("crm", "SELECT count(*) FROM contacts WHERE customer_id = 'cust-0003'"), 0);
  // The finished task closed its dead-letter alert's deadline.
  EXPECT_EQ(Query("dsar", absl::StrCat("SELECT count(*) FROM deadlines WHERE resource = "
                                       "'connectorTasks/",
                                       crm_task,
                                       "' AND kind = 'connector.task_dead' AND state = "
                                       "'completed'")),
            1);

  // Same request_id: the first answer again. A new one on a done task: refused.
  v1::RetryTaskResponse again;
  ctx = Context();
  ASSERT_TRUE(stub_->RetryTask(ctx.get(), retry, &again).ok());
  EXPECT_EQ(again.task().state(), v1::CONNECTOR_TASK_STATE_PENDING);
  retry.set_request_id("retry-crm-2");
  ctx = Context();
  status = stub_->RetryTask(ctx.get(), retry, &again);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ConnectorE2eTest, SigkillOfDsardMidFanOutCompletesEachTaskExactlyOnceInEffect) {
  ASSERT_GT(StartBackend("booking", {{"--latency-ms=150"}}), 0);
  ASSERT_GT(StartBackend("crm", {{"--latency-ms=150"}}), 0);
  const std::string tuning =
      "max_attempts: 20 max_concurrency: 3 initial_backoff_ms: 10 max_backoff_ms: 100 "
      "call_timeout_ms: 3000";
  ASSERT_TRUE(StartDsard(tuning)) << dsard_->output();
  // Ten jobs in one transaction, so dsard fills every slot in one poll. More
  // only if dsard finishes them all before a call is caught in flight (below).
  int jobs = 0;
  std::set<std::string> ids;
  auto enqueue_ten = [&] {
    std::vector<int> people;
    for (int i = 1; i <= 10; ++i) people.push_back(jobs + i);
    auto batch = EnqueueJobs(people, connector::TaskKind::kSubjectErase);
    EXPECT_THAT(batch, SizeIs(20));
    jobs += 10;
    ids.insert(batch.begin(), batch.end());
    return std::set<std::string>(batch.begin(), batch.end());
  };
  std::set<std::string> unfinished = enqueue_ten();
  ASSERT_THAT(ids, SizeIs(20));

  // The kill must come while a backend has acted on a call whose outcome
  // dsard has not recorded. Timing cannot promise that: on a loaded machine
  // dsard may record every outcome, or even finish every task, before the
  // test reacts to a log line. So once dsard has finished a task, the test
  // takes the write lock of dsard's database: dsard can then neither claim a
  // task nor record an outcome (its writes wait). The tasks running at that
  // moment have had their calls sent; the kill comes once a backend has acted
  // on one of them. When none is running, the lock is let go until the next
  // task finishes.
  SQLite::Database db(dir_.File("dsar.db"), SQLite::OPEN_READWRITE);
  db.setBusyTimeout(60000);
  std::unique_ptr<SQLite::Transaction> frozen;
  std::map<std::string, std::string> running;  // task id -> connector
  while (running.empty()) {
    if (unfinished.empty()) {
      ASSERT_LT(jobs, 40) << "dsard finished every job before a call was caught in flight";
      unfinished = enqueue_ten();
    }
    auto finished = AwaitTasks(*dsard_, unfinished, "connector_task_finished", "done", 1);
    ASSERT_EQ(finished.size(), 1u) << dsard_->output();
    frozen = std::make_unique<SQLite::Transaction>(db, SQLite::TransactionBehavior::IMMEDIATE);
    unfinished.clear();
    {
      SQLite::Statement q(db,
                          "SELECT task_id, connector, state FROM outbox_tasks "
                          "WHERE state IN ('pending', 'running', 'failed', 'waiting')");
      while (q.executeStep()) {
        unfinished.insert(q.getColumn(0).getString());
        if (q.getColumn(2).getString() == "running") {
          running[q.getColumn(0).getString()] = q.getColumn(1).getString();
        }
      }
    }
    if (running.empty()) frozen.reset();  // rolls back: dsard goes on
  }
  const std::string connector_name = running.begin()->second;
  std::set<std::string> candidates;
  for (const auto& [id, connector] : running) {
    if (connector == connector_name) candidates.insert(id);
  }
  auto acted = AwaitTasks(*backends_[connector_name], candidates, "erase_done", "", 1);
  ASSERT_EQ(acted.size(), 1u) << backends_[connector_name]->output();
  const std::string in_flight = acted.begin()->first;
  dsard_->Signal(SIGKILL);
  EXPECT_EQ(Reap(*dsard_), 128 + SIGKILL);
  frozen.reset();

  // Restart on the same database: the new process re-leases exactly the
  // tasks that were running and finishes every task.
  dsard_ = Spawn({DSARD_PATH, "--config", dir_.File("dsard.textproto")});
  auto ready = dsard_->WaitForLine("\"event\":\"ready\"");
  ASSERT_TRUE(ready.has_value()) << dsard_->output();
  int port = nlohmann::json::parse(*ready).value("port", 0);
  channel_ =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  stub_ = v1::ConnectorService::NewStub(channel_);
  int re_leased = -1;
  for (absl::string_view line : absl::StrSplit(dsard_->output(), '\n')) {
    auto obj = nlohmann::json::parse(line, nullptr, false);
    if (obj.is_object() && obj.value("event", "") == "outbox_recovered") {
      re_leased = obj.value("re_leased", -1);
    }
  }
  EXPECT_EQ(re_leased, static_cast<int>(running.size())) << dsard_->output();
  std::set<std::string> remaining;
  for (const auto& [id, task] : ListTasks()) {
    if (task.state() != v1::CONNECTOR_TASK_STATE_DONE) remaining.insert(id);
  }
  auto rest = AwaitTasks(*dsard_, remaining, "connector_task_finished", "done");
  EXPECT_EQ(rest.size(), remaining.size()) << dsard_->output();

  auto tasks = ListTasks();
  ASSERT_THAT(tasks, SizeIs(2 * jobs));
  int64_t booking_anonymised = 0, crm_anonymised = 0, crm_deleted = 0, replayed = 0;
  for (const auto& [id, t] : tasks) {
    EXPECT_EQ(t.state(), v1::CONNECTOR_TASK_STATE_DONE) << id;
    if (t.connector() == "booking") booking_anonymised += t.anonymised_count();
    if (t.connector() == "crm") {
      crm_anonymised += t.anonymised_count();
      crm_deleted += t.deleted_count();
    }
    replayed += t.replayed();
  }
  // Each backend acted once per task id; the reported counts add up to what
  // the databases hold, so nothing was counted (or done) twice.
  EXPECT_EQ(Query("booking", "SELECT count(*) FROM processed_tasks"), jobs);
  EXPECT_EQ(Query("crm", "SELECT count(*) FROM processed_tasks"), jobs);
  EXPECT_EQ(Query("booking",
                  "SELECT (SELECT count(*) FROM bookings WHERE person_id IS NULL) + "
                  "(SELECT count(*) FROM payments WHERE person_id IS NULL)"),
            booking_anonymised);
  EXPECT_EQ(Query("crm", "SELECT count(*) FROM contacts WHERE customer_id IS NULL"),
            crm_anonymised);
  EXPECT_GE(crm_anonymised, 10);
  // The call the backend acted on before the kill was sent again under the
  // same task id after the restart and answered from the stored result.
  EXPECT_TRUE(tasks[in_flight].replayed()) << in_flight;
  RecordProperty("replayed_after_restart", static_cast<int>(replayed));
  RecordProperty("jobs", jobs);
  EXPECT_GE(replayed, 1);
  EXPECT_GT(crm_deleted, 0);
}

TEST_F(ConnectorE2eTest, AHangingBackendHoldsAWorkerOnlyUntilTheCallDeadline) {
  ASSERT_GT(StartBackend("booking"), 0);
  ASSERT_GT(StartBackend("crm", {{"--latency-ms=600000"}}), 0);
  ASSERT_TRUE(
      StartDsard("max_attempts: 2 max_concurrency: 1 initial_backoff_ms: 10 max_backoff_ms: 20 "
                 "call_timeout_ms: 300 breaker { failure_threshold: 1 open_ms: 100 }"))
      << dsard_->output();
  const absl::Time start = absl::Now();
  auto ids = EnqueueJob(5, connector::TaskKind::kSubjectErase);
  ASSERT_THAT(ids, SizeIs(2));
  auto tasks = ListTasks();
  std::string crm_task = tasks[ids[0]].connector() == "crm" ? ids[0] : ids[1];
  auto dead = AwaitTasks(*dsard_, {crm_task}, "connector_task_dead_lettered");
  ASSERT_EQ(dead.size(), 1u) << dsard_->output();
  // Two attempts of 300 ms, the breaker's 100 ms and the polls: far below the
  // backend's ten minutes.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(dead[crm_task].value("code", ""), "DEADLINE_EXCEEDED");
  v1::GetConnectorHealthRequest request;
  request.set_name("crm");
  v1::GetConnectorHealthResponse health;
  auto ctx = Context();
  ASSERT_TRUE(stub_->GetConnectorHealth(ctx.get(), request, &health).ok());
  EXPECT_GE(health.breaker_open_count(), 1);
  EXPECT_EQ(health.last_error(), "DEADLINE_EXCEEDED");
  EXPECT_EQ(health.in_flight(), 0);
}

}  // namespace
}  // namespace dsar
