// dsar-bench: throughput and latency figures for docs/benchmarks.md.
//
//   dsar-bench [Google Benchmark flags] [--connections=16 --outstanding=32
//              --duration_ms=3000 --warmup_ms=500 --submitters=64
//              --store_duration_ms=3000 --store_dir=/tmp --max_requests=0
//              --max_writes=0 --requests=1000 --request_people=10000
//              --heavy_records=100000 --dsard=PATH --refbackend=PATH
//              --connector_latency_ms=100 --connector_jobs=20
//              --connector_tasks=10000 --consent_small=10000
//              --consent_large=1000000
//              --consent_cache_dir=<store_dir>/dsar-bench-consent-cache
//              --deadline_pending=1000000 --deadline_burst=100000
//              --deadline_lead_s=30 --sql_connector=PATH --sql_members=1000000
//              --sql_erasures=2000 --sql_concurrency=4 --sql_heavy_rows=100000
//              --deadline_cache_dir=<store_dir>/dsar-bench-deadline-cache] [--smoke]
//
// Every benchmark runs once (bounded by its duration) against servers and
// databases it starts itself on 127.0.0.1 / under a temporary directory.
// Figures are Google Benchmark counters: items_per_second (QPS or writes/s),
// p50_us / p90_us / p99_us, errors. Exit status 1 when any benchmark saw
// errors or no successes. tools/bench/run tabulates the JSON output.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "lib/core/log.h"
#include "tools/bench/bench_config.h"

namespace dsar::bench {
namespace {

BenchConfig& MutableConfig() {
  static BenchConfig* config = new BenchConfig;
  return *config;
}

std::mutex failed_mu;
bool failed = false;

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

}  // namespace

const BenchConfig& Config() { return MutableConfig(); }
void SetConfig(const BenchConfig& config) { MutableConfig() = config; }

void MarkFailed(const std::string& name, const std::string& why) {
  std::lock_guard<std::mutex> lock(failed_mu);
  failed = true;
  std::cerr << "dsar-bench: " << name << " failed: " << why << "\n";
}

bool AnyFailed() {
  std::lock_guard<std::mutex> lock(failed_mu);
  return failed;
}

}  // namespace dsar::bench

int main(int argc, char** argv) {
  // As dsard's main does: Debian's abseil is built without NDEBUG, so every
  // absl::Mutex acquisition would also update a global lock graph and record
  // a stack trace (deadlock detection for debugging).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  benchmark::Initialize(&argc, argv);  // removes the --benchmark_* flags it knows

  dsar::bench::BenchConfig config;
  const char* tmp = std::getenv("TMPDIR");
  config.store_dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  int64_t duration_ms = 3000, warmup_ms = 500, store_duration_ms = 3000, store_warmup_ms = 500;
  CLI::App app{"dsar-bench: dsar throughput and latency benchmarks"};
  app.add_option("--connections", config.connections, "gRPC connections (channels)")
      ->check(CLI::PositiveNumber);
  app.add_option("--outstanding", config.outstanding, "calls in flight per connection")
      ->check(CLI::PositiveNumber);
  app.add_option("--payload_bytes", config.payload_bytes, "echo payload size")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--duration_ms", duration_ms, "measured window per RPC benchmark")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup_ms", warmup_ms, "warm-up per RPC benchmark")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max_requests", config.max_requests,
                 "stop an RPC run after this many measured calls (0: duration only)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--submitters", config.submitters, "concurrent store submitters")
      ->check(CLI::PositiveNumber);
  app.add_option("--store_duration_ms", store_duration_ms, "measured window per store benchmark")
      ->check(CLI::PositiveNumber);
  app.add_option("--store_warmup_ms", store_warmup_ms, "warm-up per store benchmark")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max_writes", config.max_writes,
                 "stop a store run after this many measured writes (0: duration only)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--store_dir", config.store_dir,
                 "directory for the temporary SQLite databases (default $TMPDIR or /tmp)");
  config.dsard_path = DSAR_BENCH_DSARD;
  config.refbackend_path = DSAR_BENCH_REFBACKEND;
  app.add_option("--dsard", config.dsard_path, "dsard binary for the requests/ benchmarks");
  app.add_option("--refbackend", config.refbackend_path,
                 "refbackend binary for the requests/ benchmarks");
  app.add_option("--request_people", config.request_people,
                 "synthetic people in each refbackend (requests/access_concurrent)")
      ->check(CLI::PositiveNumber);
  app.add_option("--requests", config.requests,
                 "ACCESS requests sent at once (requests/access_concurrent)")
      ->check(CLI::PositiveNumber);
  app.add_option("--heavy_records", config.heavy_records,
                 "records of the one person exported (requests/large_export)")
      ->check(CLI::PositiveNumber);
  app.add_option("--connector_concurrency", config.connector_concurrency,
                 "dsard's max_concurrency per connector (requests/ benchmarks)")
      ->check(CLI::PositiveNumber);
  app.add_option("--connector_latency_ms", config.connector_latency_ms,
                 "latency each refbackend adds (connector/erase_job_latency)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--connector_jobs", config.connector_jobs,
                 "erasure jobs timed (connector/erase_job_latency)")
      ->check(CLI::PositiveNumber);
  app.add_option("--connector_tasks", config.connector_tasks,
                 "erasure tasks queued (connector/queued_erasures)")
      ->check(CLI::PositiveNumber);
  config.sql_connector_path = DSAR_BENCH_SQL_CONNECTOR;
  app.add_option("--sql_connector", config.sql_connector_path,
                 "dsar-sql-connector binary for the sql_connector/ benchmarks");
  app.add_option("--sql_members", config.sql_members,
                 "loyalty members in PostgreSQL (sql_connector/erase_throughput)")
      ->check(CLI::PositiveNumber);
  app.add_option(
         "--sql_erasures", config.sql_erasures,
         "persons erased through the connector and by hand (sql_connector/erase_throughput)")
      ->check(CLI::PositiveNumber);
  app.add_option("--sql_concurrency", config.sql_concurrency,
                 "erasures in flight (sql_connector/erase_throughput)")
      ->check(CLI::PositiveNumber);
  app.add_option("--sql_heavy_rows", config.sql_heavy_rows,
                 "rows of the one member exported (sql_connector/export_heavy)")
      ->check(CLI::PositiveNumber);
  app.add_option("--consent_small", config.consent_small,
                 "stored consents for the small CheckConsent store")
      ->check(CLI::PositiveNumber);
  app.add_option("--consent_large", config.consent_large,
                 "stored consents for the large CheckConsent store (kept in the cache)")
      ->check(CLI::PositiveNumber);
  app.add_option("--consent_cache_dir", config.consent_cache_dir,
                 "where the large seeded consent store is kept between runs "
                 "(default <store_dir>/dsar-bench-consent-cache)");
  app.add_option("--deadline_pending", config.deadline_pending,
                 "open deadlines whose alerts are days away (deadline/burst; kept in the cache)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--deadline_burst", config.deadline_burst,
                 "deadlines whose first alert falls on one instant (deadline/burst)")
      ->check(CLI::PositiveNumber);
  int deadline_lead_s = 30;
  app.add_option("--deadline_lead_s", deadline_lead_s,
                 "seconds from seeding the burst to its instant (deadline/burst)")
      ->check(CLI::PositiveNumber);
  app.add_option("--deadline_cache_dir", config.deadline_cache_dir,
                 "where the seeded pending deadlines are kept between runs "
                 "(default <store_dir>/dsar-bench-deadline-cache)");
  app.add_flag("--smoke", config.smoke,
               "tiny bounded configuration for tests: 2x4 calls, 8 submitters, a few hundred "
               "calls / writes per run (10 s cap)");
  CLI11_PARSE(app, argc, argv);

  config.duration = absl::Milliseconds(duration_ms);
  config.warmup = absl::Milliseconds(warmup_ms);
  config.store_duration = absl::Milliseconds(store_duration_ms);
  config.store_warmup = absl::Milliseconds(store_warmup_ms);
  config.deadline_lead = absl::Seconds(deadline_lead_s);
  if (config.smoke) {
    // Bounded by count, so a slow disk or a busy machine makes it slower,
    // not failed; the duration is only a cap.
    config.connections = 2;
    config.outstanding = 4;
    config.warmup = absl::Milliseconds(20);
    config.duration = absl::Seconds(10);
    config.max_requests = 200;
    config.submitters = 8;
    config.store_warmup = absl::Milliseconds(20);
    config.store_duration = absl::Seconds(10);
    config.max_writes = 16;
    config.request_people = 40;
    config.requests = 20;
    config.heavy_records = 500;
    config.connector_latency_ms = 5;
    config.connector_jobs = 3;
    config.connector_tasks = 40;
    config.sql_members = 300;
    config.sql_erasures = 20;
    config.sql_heavy_rows = 1000;
    config.consent_small = 100;
    config.consent_large = 1000;
    config.deadline_pending = 1000;
    config.deadline_burst = 200;
    config.deadline_lead = absl::Seconds(5);
  }
  if (config.deadline_cache_dir.empty()) {
    config.deadline_cache_dir = config.store_dir + "/dsar-bench-deadline-cache";
  }
  if (config.consent_cache_dir.empty()) {
    config.consent_cache_dir = config.store_dir + "/dsar-bench-consent-cache";
  }
  dsar::bench::SetConfig(config);
  dsar::log::Init("warn").IgnoreError();  // no migration chatter between results

  benchmark::AddCustomContext("dsar_nproc", std::to_string(std::thread::hardware_concurrency()));
  benchmark::AddCustomContext("dsar_cpu_model", dsar::bench::CpuModel());
  benchmark::AddCustomContext("dsar_connections", std::to_string(config.connections));
  benchmark::AddCustomContext("dsar_outstanding", std::to_string(config.outstanding));
  benchmark::AddCustomContext("dsar_submitters", std::to_string(config.submitters));
  benchmark::AddCustomContext("dsar_store_dir", config.store_dir);

  dsar::bench::RegisterEchoBenchmarks();
  dsar::bench::RegisterStoreBenchmarks();
  dsar::bench::RegisterPrivacyRequestBenchmarks();
  dsar::bench::RegisterConnectorBenchmarks();
  dsar::bench::RegisterConsentBenchmarks();
  dsar::bench::RegisterDeadlineBenchmarks();
  dsar::bench::RegisterSqlConnectorBenchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return dsar::bench::AnyFailed() ? 1 : 0;
}
