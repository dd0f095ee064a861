// Connector fan-out against real refbackend processes on loopback.
//
//   connector/erase_job_latency  The outbox and dispatcher in-process, as a
//       module inside dsard uses them (enqueue in a write transaction, then
//       Notify), and two refbackends that each add --connector_latency_ms to
//       every call. One erasure job fans out to both; a job's latency runs
//       from the enqueue until both outcomes are committed. Parallel fan-out
//       takes about one backend latency: the budget is 1.2 x latency + 20 ms.
//       Rate: jobs per second of job latency; p50/p99 per job.
//   connector/queued_erasures/<max_concurrency>  --connector_tasks erasure
//       tasks queued in dsard's database over two refbackends without added
//       latency; then a real dsard process starts and runs them. Rate: tasks
//       finished per second from dsard's start (counted from its
//       "connector_task_finished" log lines); dsard's RSS at ready and peak.
//
// There is no echo ratio: these are background work, not one RPC each.
// Synthetic people only; loopback only; every wait is bounded.
#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/connector/dispatcher.h"
#include "lib/connector/grpc_connector_client.h"
#include "lib/connector/outbox.h"
#include "lib/connector/payload.h"
#include "lib/connector/registry.h"
#include "lib/core/config.h"
#include "lib/store/store.h"
#include "tests/testing/temp_dir.h"
#include "tools/bench/bench_config.h"
#include "tools/bench/latency_histogram.h"
#include "tools/bench/report.h"
#include "tools/bench/watched_process.h"

namespace dsar::bench {
namespace {

constexpr char kSecret[] = "bench-secret-0123456789abcdef0123456789";
constexpr char kTaskFinished[] = "connector_task_finished";
constexpr absl::Duration kStartTimeout = absl::Minutes(2);

std::unique_ptr<WatchedProcess> StartBackend(const std::string& kind, const std::string& db,
                                             int people, int latency_ms) {
  return std::make_unique<WatchedProcess>(
      std::vector<std::string>{Config().refbackend_path, "--kind=" + kind, "--listen=127.0.0.1:0",
                               "--db=" + db, absl::StrCat("--people=", people),
                               absl::StrCat("--latency-ms=", latency_ms), "--threads=8"},
      std::vector<std::string>{});
}

connector::TaskSpec EraseSpec(int person) {
  connector::TaskSpec spec;
  spec.tenant = "bench-tenant";
  spec.kind = connector::TaskKind::kSubjectErase;
  spec.resource = absl::StrFormat("privacyRequests/bench-%06d", person);
  spec.subject = {
      {connector::IdentifierType::kEmail, absl::StrFormat("person-%04d@example.invalid", person)},
      {connector::IdentifierType::kCustomerId, absl::StrFormat("cust-%04d", person)}};
  return spec;
}

std::string ConnectorsText(int booking_port, int crm_port, int concurrency) {
  std::string out;
  for (auto [name, port] : {std::pair<const char*, int>{"booking", booking_port},
                            std::pair<const char*, int>{"crm", crm_port}}) {
    out += absl::StrFormat(
        "connectors { name: \"%s\" address: \"127.0.0.1:%d\" max_concurrency: %d "
        "max_attempts: 8 call_timeout_ms: 5000 initial_backoff_ms: 50 }\n",
        name, port, concurrency);
  }
  return out;
}

// Counts finished tasks; the latency benchmark waits on it.
class CountingHook final : public connector::TaskResultHook {
 public:
  absl::Status OnTaskFinished(store::WriteTxn&, const connector::TaskInfo&, absl::Time) override {
    absl::MutexLock lock(&mu_);
    ++finished_;
    return absl::OkStatus();
  }
  void AwaitAtLeast(int n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return finished_ >= n; };
    mu_.Await(absl::Condition(&enough));
  }

 private:
  absl::Mutex mu_;
  int finished_ ABSL_GUARDED_BY(mu_) = 0;
};

void BM_EraseJobLatency(benchmark::State& state) {
  const BenchConfig& config = Config();
  testing::TempDir dir(config.store_dir);
  if (dir.path().empty()) return Fail(state, absl::UnavailableError("no scratch directory"));
  const int jobs = config.connector_jobs;
  const int latency_ms = config.connector_latency_ms;
  auto booking = StartBackend("booking", dir.path() + "/booking.db", jobs + 1, latency_ms);
  auto crm = StartBackend("crm", dir.path() + "/crm.db", jobs + 1, latency_ms);
  const int booking_port = booking->AwaitReady(kStartTimeout);
  const int crm_port = crm->AwaitReady(kStartTimeout);
  if (booking_port == 0 || crm_port == 0) {
    return Fail(state, absl::UnavailableError("refbackend did not start"));
  }
  auto config_proto =
      ParseDsardConfig(absl::StrCat("listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\n",
                                    "database_path: \"x\"\nsubject_key_file: \"x\"\n",
                                    ConnectorsText(booking_port, crm_port, 4)),
                       "bench");
  if (!config_proto.ok()) return Fail(state, config_proto.status());
  store::StoreOptions store_options;
  store_options.path = dir.path() + "/dsar.db";
  auto store = store::Store::Open(store_options);
  if (!store.ok()) return Fail(state, store.status());
  auto registry = connector::ConnectorRegistry::FromConfig(*config_proto);
  auto sealer = connector::PayloadSealer::FromSecret(kSecret);
  if (!sealer.ok()) return Fail(state, sealer.status());
  connector::Outbox outbox(&registry, sealer->get());
  std::vector<std::unique_ptr<connector::ConnectorClient>> clients;
  connector::DispatcherDeps deps;
  deps.store = store->get();
  deps.clock = SystemClock::Default();
  deps.outbox = &outbox;
  deps.sealer = sealer->get();
  for (const auto& c : registry.connectors()) {
    auto client = connector::NewGrpcConnectorClient(c.endpoint);
    if (!client.ok()) return Fail(state, client.status());
    clients.push_back(std::move(*client));
    deps.clients[c.name] = clients.back().get();
  }
  delivery::DefaultRandomSource random;
  deps.random = &random;
  CountingHook hook;
  deps.results = &hook;
  connector::DispatcherOptions options;
  options.health_interval = absl::ZeroDuration();
  connector::Dispatcher dispatcher(std::move(deps), options);
  if (absl::Status s = dispatcher.Start(); !s.ok()) return Fail(state, s);

  for (auto _ : state) {
    LatencyHistogram latency;
    absl::Duration total;
    for (int job = 0; job <= jobs; ++job) {  // job 0 warms the channels up
      const absl::Time t0 = absl::Now();
      absl::Status s = (*store)->WriteAndWait([&](store::WriteTxn& txn) {
        return outbox.EnqueueFanOut(txn, EraseSpec(job + 1), absl::Now()).status();
      });
      if (!s.ok()) return Fail(state, s);
      outbox.Notify();
      hook.AwaitAtLeast(2 * (job + 1));
      dispatcher.WaitIdle();  // both outcomes committed
      if (job == 0) continue;
      const absl::Duration took = absl::Now() - t0;
      latency.Record(took);
      total += took;
    }
    state.SetIterationTime(absl::ToDoubleSeconds(total));
    state.SetItemsProcessed(jobs);
    const double budget_ms = 1.2 * latency_ms + 20;
    const double max_ms = absl::ToDoubleMilliseconds(latency.Max());
    state.counters["ok"] = jobs;
    state.counters["errors"] = 0;
    state.counters["p50_us"] = absl::ToDoubleMicroseconds(latency.Percentile(0.50));
    state.counters["p99_us"] = absl::ToDoubleMicroseconds(latency.Percentile(0.99));
    state.counters["mean_ms"] = absl::ToDoubleMilliseconds(latency.Mean());
    state.counters["max_ms"] = max_ms;
    state.counters["budget_ms"] = budget_ms;
    state.SetLabel(absl::StrFormat(
        "%d jobs over 2 backends adding %d ms each; max %.1f ms vs budget %.0f ms: %s", jobs,
        latency_ms, max_ms, budget_ms, max_ms <= budget_ms ? "met" : "NOT met"));
  }
  dispatcher.Stop(absl::Seconds(1));
}

// Queues `tasks` erasure tasks (two per person) in the database at `db`.
absl::Status QueueErasures(const std::string& db, const config::v1::DsardConfig& config,
                           int people) {
  store::StoreOptions store_options;
  store_options.path = db;
  auto store = store::Store::Open(store_options);
  if (!store.ok()) return store.status();
  auto registry = connector::ConnectorRegistry::FromConfig(config);
  auto sealer = connector::PayloadSealer::FromSecret(kSecret);
  if (!sealer.ok()) return sealer.status();
  connector::Outbox outbox(&registry, sealer->get());
  for (int first = 1; first <= people; first += 500) {
    absl::Status s = (*store)->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
      for (int p = first; p < std::min(people + 1, first + 500); ++p) {
        auto ids = outbox.EnqueueFanOut(txn, EraseSpec(p), absl::Now());
        if (!ids.ok()) return ids.status();
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
  }
  (*store)->Close();
  return absl::OkStatus();
}

void BM_QueuedErasures(benchmark::State& state, int concurrency) {
  const BenchConfig& config = Config();
  testing::TempDir dir(config.store_dir);
  if (dir.path().empty()) return Fail(state, absl::UnavailableError("no scratch directory"));
  const int people = std::max(1, config.connector_tasks / 2);
  const int tasks = people * 2;
  auto booking = StartBackend("booking", dir.path() + "/booking.db", people, 0);
  auto crm = StartBackend("crm", dir.path() + "/crm.db", people, 0);
  const int booking_port = booking->AwaitReady(kStartTimeout);
  const int crm_port = crm->AwaitReady(kStartTimeout);
  if (booking_port == 0 || crm_port == 0) {
    return Fail(state, absl::UnavailableError("refbackend did not start"));
  }
  const std::string db = dir.path() + "/dsar.db";
  std::ofstream(dir.path() + "/secret.key") << kSecret;
  const std::string config_text = absl::StrCat(
      "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\nlog_level: \"info\"\n",
      "database_path: \"", db, "\"\nsubject_key_file: \"", dir.path(), "/secret.key\"\n",
      ConnectorsText(booking_port, crm_port, concurrency),
      "outbox { poll_interval_ms: 200 health_interval_ms: 10000 }\n");
  std::ofstream(dir.path() + "/dsard.textproto") << config_text;
  auto config_proto = ParseDsardConfig(config_text, "bench");
  if (!config_proto.ok()) return Fail(state, config_proto.status());
  if (absl::Status s = QueueErasures(db, *config_proto, people); !s.ok()) return Fail(state, s);

  for (auto _ : state) {
    const absl::Time start = absl::Now();
    WatchedProcess dsard({config.dsard_path, "--config", dir.path() + "/dsard.textproto"},
                         {kTaskFinished});
    if (dsard.AwaitReady(kStartTimeout) == 0) {
      return Fail(state, absl::UnavailableError("dsard did not start"));
    }
    const int64_t rss_ready = dsard.StatusKb("VmRSS");
    if (!dsard.AwaitEvents(kTaskFinished, tasks, absl::Minutes(10))) {
      return Fail(state, absl::DeadlineExceededError("tasks did not finish in time"));
    }
    const double seconds = absl::ToDoubleSeconds(dsard.LastEventTime(kTaskFinished) - start);
    const int64_t hwm = dsard.StatusKb("VmHWM");
    state.SetIterationTime(seconds);
    state.SetItemsProcessed(tasks);
    state.counters["ok"] = tasks;
    state.counters["errors"] = 0;
    state.counters["rss_ready_mib"] = static_cast<double>(rss_ready) / 1024.0;
    state.counters["rss_peak_mib"] = static_cast<double>(hwm) / 1024.0;
    state.SetLabel(absl::StrFormat(
        "%d queued erasure tasks, 2 backends, max_concurrency %d; from dsard start; "
        "RSS %.1f -> %.1f MiB",
        tasks, concurrency, rss_ready / 1024.0, hwm / 1024.0));
  }
}

}  // namespace

void RegisterConnectorBenchmarks() {
  RegisterOnce("connector/erase_job_latency", BM_EraseJobLatency);
  for (int concurrency : {4, 16, 64}) {
    RegisterOnce(absl::StrCat("connector/queued_erasures/", concurrency),
                 [concurrency](benchmark::State& state) { BM_QueuedErasures(state, concurrency); });
  }
}

}  // namespace dsar::bench
