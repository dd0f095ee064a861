// connector_bench: measures the connector fan-out against real refbackend
// processes on loopback.
//
//   1. Job latency: the outbox and dispatcher in-process (as a module inside
//      dsard uses them: enqueue in a write transaction, then Notify), two
//      refbackends that each add --latency-ms to every call. One erasure job
//      fans out to both; latency runs from the enqueue until both outcomes are
//      committed. Parallel fan-out should take about one backend latency.
//   2. Throughput: --tasks erasure tasks queued in dsard's database over two
//      refbackends without added latency; then a real dsard process is started
//      and runs them. Reports tasks/s and dsard's resident set size.
// Not a test: run by hand (see docs/benchmarks.md). Synthetic people only.
#include <SQLiteCpp/Database.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "lib/connector/dispatcher.h"
#include "lib/connector/grpc_connector_client.h"
#include "lib/connector/outbox.h"
#include "lib/connector/payload.h"
#include "lib/connector/registry.h"
#include "lib/core/config.h"
#include "lib/core/log.h"
#include "lib/store/store.h"

namespace {

using namespace dsar;  // NOLINT: a small driver

// A child process whose output goes to a log file; a reader thread notifies
// when the "ready" line (with the port) appears.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log_path) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    reader_ = std::thread([this, fd = fds[0], log_path] {
      FILE* in = fdopen(fd, "r");
      std::ofstream log(log_path);
      char* line = nullptr;
      size_t cap = 0;
      while (getline(&line, &cap, in) > 0) {
        log << line;
        if (!ready_.HasBeenNotified() && strstr(line, "\"event\":\"ready\"") != nullptr) {
          auto obj = nlohmann::json::parse(line, nullptr, false);
          port_ = obj.is_object() ? obj.value("port", 0) : 0;
          ready_.Notify();
        }
      }
      free(line);
      fclose(in);
      if (!ready_.HasBeenNotified()) ready_.Notify();
    });
  }
  ~Child() { Stop(SIGTERM); }
  // Port from the ready line; 0 when the child died first or took > 120 s.
  int AwaitReady() {
    return ready_.WaitForNotificationWithTimeout(absl::Seconds(120)) ? port_ : 0;
  }
  pid_t pid() const { return pid_; }
  void Stop(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    if (reader_.joinable()) reader_.join();
  }

 private:
  pid_t pid_ = -1;
  std::thread reader_;
  absl::Notification ready_;
  int port_ = 0;
};

int64_t ProcStatusKb(pid_t pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}

void Fresh(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

connector::TaskSpec EraseSpec(int person) {
  connector::TaskSpec spec;
  spec.tenant = "bench-tenant";
  spec.kind = connector::TaskKind::kSubjectErase;
  spec.resource = absl::StrFormat("privacy_requests/bench-%06d", person);
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

// Counts finished tasks; the latency phase waits on it.
class CountingHook final : public connector::TaskResultHook {
 public:
  absl::Status OnTaskFinished(store::WriteTxn&, const connector::TaskInfo&,
                              absl::Time) override {
    absl::MutexLock lock(&mu_);
    ++finished_;
    return absl::OkStatus();
  }
  void AwaitAtLeast(int n) {
    absl::MutexLock lock(&mu_);
    struct Arg {
      CountingHook* self;
      int n;
    } arg{this, n};
    mu_.Await(absl::Condition(
        +[](Arg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS { return a->self->finished_ >= a->n; },
        &arg));
  }

 private:
  absl::Mutex mu_;
  int finished_ ABSL_GUARDED_BY(mu_) = 0;
};

int LatencyPhase(const std::string& dir, const std::string& refbackend, int latency_ms,
                 int jobs) {
  Child booking({refbackend, "--kind=booking", "--listen=127.0.0.1:0",
                 "--db=" + dir + "/lat-booking.db", "--people=" + std::to_string(jobs + 1),
                 absl::StrCat("--latency-ms=", latency_ms)},
                dir + "/lat-booking.log");
  Child crm({refbackend, "--kind=crm", "--listen=127.0.0.1:0", "--db=" + dir + "/lat-crm.db",
             "--people=" + std::to_string(jobs + 1), absl::StrCat("--latency-ms=", latency_ms)},
            dir + "/lat-crm.log");
  int booking_port = booking.AwaitReady(), crm_port = crm.AwaitReady();
  if (booking_port == 0 || crm_port == 0) {
    std::cerr << "refbackend did not start\n";
    return 1;
  }
  auto config = ParseDsardConfig(
      absl::StrCat("listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\n",
                   "database_path: \"x\"\nsubject_key_file: \"x\"\n",
                   ConnectorsText(booking_port, crm_port, 4)),
      "bench");
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 1;
  }
  const std::string db = dir + "/lat-dsar.db";
  Fresh(db);
  store::StoreOptions store_options;
  store_options.path = db;
  auto store = store::Store::Open(store_options);
  if (!store.ok()) return 1;
  auto registry = connector::ConnectorRegistry::FromConfig(*config);
  auto sealer = connector::PayloadSealer::FromSecret("bench-secret-0123456789abcdef0123456789");
  connector::Outbox outbox(&registry, sealer->get());
  std::vector<std::unique_ptr<connector::ConnectorClient>> clients;
  connector::DispatcherDeps deps;
  deps.store = store->get();
  deps.clock = SystemClock::Default();
  deps.outbox = &outbox;
  deps.sealer = sealer->get();
  for (const auto& c : registry.connectors()) {
    clients.push_back(std::move(*connector::NewGrpcConnectorClient(c.endpoint)));
    deps.clients[c.name] = clients.back().get();
  }
  connector::DefaultRandomSource random;
  deps.random = &random;
  CountingHook hook;
  deps.results = &hook;
  connector::DispatcherOptions options;
  options.health_interval = absl::ZeroDuration();
  connector::Dispatcher dispatcher(std::move(deps), options);
  if (!dispatcher.Start().ok()) return 1;

  std::vector<double> ms;
  for (int job = 0; job <= jobs; ++job) {  // job 0 warms the channels up
    const absl::Time t0 = absl::Now();
    absl::Status s = (*store)->WriteAndWait([&](store::WriteTxn& txn) {
      return outbox.EnqueueFanOut(txn, EraseSpec(job + 1), absl::Now()).status();
    });
    if (!s.ok()) {
      std::cerr << s << "\n";
      return 1;
    }
    outbox.Notify();
    hook.AwaitAtLeast(2 * (job + 1));
    dispatcher.WaitIdle();  // both outcomes committed
    if (job > 0) ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
  }
  dispatcher.Stop(absl::Seconds(1));
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double m : ms) sum += m;
  const double budget = 1.2 * latency_ms + 20;
  std::cout << absl::StrFormat(
      "job latency over 2 backends adding %d ms each, %d jobs: mean %.1f ms, p50 %.1f ms, "
      "max %.1f ms (budget 1.2 x %d + 20 = %.0f ms: %s)\n",
      latency_ms, jobs, sum / ms.size(), ms[ms.size() / 2], ms.back(), latency_ms, budget,
      ms.back() <= budget ? "met" : "NOT met");
  return 0;
}

int ThroughputPhase(const std::string& dir, const std::string& refbackend,
                    const std::string& dsard_path, int tasks, int concurrency) {
  const int people = tasks / 2;
  Child booking({refbackend, "--kind=booking", "--listen=127.0.0.1:0",
                 "--db=" + dir + "/tp-booking.db", absl::StrCat("--people=", people),
                 "--threads=8"},
                dir + "/tp-booking.log");
  Child crm({refbackend, "--kind=crm", "--listen=127.0.0.1:0", "--db=" + dir + "/tp-crm.db",
             absl::StrCat("--people=", people), "--threads=8"},
            dir + "/tp-crm.log");
  int booking_port = booking.AwaitReady(), crm_port = crm.AwaitReady();
  if (booking_port == 0 || crm_port == 0) {
    std::cerr << "refbackend did not start\n";
    return 1;
  }
  const std::string db = dir + "/tp-dsar.db";
  Fresh(db);
  std::ofstream(dir + "/tp.key") << "bench-secret-0123456789abcdef0123456789";
  const std::string config_text = absl::StrCat(
      "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\n",
      "database_path: \"", db, "\"\nsubject_key_file: \"", dir, "/tp.key\"\n",
      ConnectorsText(booking_port, crm_port, concurrency),
      "outbox { poll_interval_ms: 200 health_interval_ms: 10000 }\n");
  std::ofstream(dir + "/tp-dsard.textproto") << config_text;
  auto config = ParseDsardConfig(config_text, "bench");
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 1;
  }
  {
    store::StoreOptions store_options;
    store_options.path = db;
    auto store = store::Store::Open(store_options);
    if (!store.ok()) return 1;
    auto registry = connector::ConnectorRegistry::FromConfig(*config);
    auto sealer = connector::PayloadSealer::FromSecretFile(dir + "/tp.key");
    connector::Outbox outbox(&registry, sealer->get());
    const absl::Time t0 = absl::Now();
    for (int first = 1; first <= people; first += 500) {
      absl::Status s = (*store)->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
        for (int p = first; p < std::min(people + 1, first + 500); ++p) {
          auto ids = outbox.EnqueueFanOut(txn, EraseSpec(p), absl::Now());
          if (!ids.ok()) return ids.status();
        }
        return absl::OkStatus();
      });
      if (!s.ok()) {
        std::cerr << s << "\n";
        return 1;
      }
    }
    std::cout << absl::StrFormat("queued %d tasks in %.1f s\n", people * 2,
                                 absl::ToDoubleSeconds(absl::Now() - t0));
    (*store)->Close();
  }
  const absl::Time start = absl::Now();
  Child dsard({dsard_path, "--config", dir + "/tp-dsard.textproto"}, dir + "/tp-dsard.log");
  if (dsard.AwaitReady() == 0) {
    std::cerr << "dsard did not start\n";
    return 1;
  }
  const int64_t rss_ready = ProcStatusKb(dsard.pid(), "VmRSS");
  SQLite::Database watch(db, SQLite::OPEN_READONLY);
  int64_t done = 0, dead = 0, rss_max = rss_ready;
  absl::Time finished = start;
  while (absl::Now() - start < absl::Minutes(10)) {
    done = watch.execAndGet("SELECT count(*) FROM outbox_tasks WHERE state = 'done'").getInt64();
    dead = watch.execAndGet("SELECT count(*) FROM outbox_tasks WHERE state = 'dead'").getInt64();
    rss_max = std::max(rss_max, ProcStatusKb(dsard.pid(), "VmRSS"));
    finished = absl::Now();
    if (done + dead >= people * 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // sampling, not syncing
  }
  const int64_t hwm = ProcStatusKb(dsard.pid(), "VmHWM");
  dsard.Stop(SIGTERM);
  const double seconds = absl::ToDoubleSeconds(finished - start);
  std::cout << absl::StrFormat(
      "%d queued erasure tasks over 2 backends (max_concurrency %d each): %lld done, %lld dead "
      "in %.2f s from dsard start = %.0f tasks/s; dsard RSS at ready %.1f MiB, max sampled "
      "%.1f MiB, peak (VmHWM) %.1f MiB\n",
      people * 2, concurrency, static_cast<long long>(done), static_cast<long long>(dead),
      seconds, done / seconds, rss_ready / 1024.0, rss_max / 1024.0, hwm / 1024.0);
  return done == people * 2 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"connector_bench"};
  std::string dir, dsard_path, refbackend;
  int latency_ms = 100, jobs = 20, tasks = 10000, concurrency = 16;
  app.add_option("--dir", dir, "Work directory")->required();
  app.add_option("--dsard", dsard_path, "Path of the dsard binary")->required();
  app.add_option("--refbackend", refbackend, "Path of the refbackend binary")->required();
  app.add_option("--latency-ms", latency_ms, "Latency each backend adds (phase 1)");
  app.add_option("--jobs", jobs, "Jobs timed in phase 1");
  app.add_option("--tasks", tasks, "Tasks queued in phase 2 (even)");
  app.add_option("--concurrency", concurrency, "max_concurrency per connector in phase 2");
  CLI11_PARSE(app, argc, argv);
  std::filesystem::create_directories(dir);
  (void)log::Init("warn");
  if (int rc = LatencyPhase(dir, refbackend, latency_ms, jobs); rc != 0) return rc;
  return ThroughputPhase(dir, refbackend, dsard_path, tasks, concurrency);
}
