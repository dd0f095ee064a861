// Settings shared by every dsar-bench benchmark (command-line flags), and a
// process-wide failure flag: a benchmark that saw errors or no successes
// marks the run failed, so dsar-bench exits non-zero after reporting.
#ifndef DSAR_TOOLS_BENCH_BENCH_CONFIG_H_
#define DSAR_TOOLS_BENCH_BENCH_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "tools/bench/load_generator.h"
#include "tools/bench/store_load.h"

namespace dsar::bench {

struct BenchConfig {
  // gRPC client settings, the same for every RPC benchmark in a run.
  int connections = 16;
  int outstanding = 32;  // calls in flight per connection
  int payload_bytes = 32;
  absl::Duration warmup = absl::Milliseconds(500);
  absl::Duration duration = absl::Seconds(3);
  int64_t max_requests = 0;  // per RPC run; 0: bounded by duration only
  // Store submitters.
  int submitters = 64;
  absl::Duration store_warmup = absl::Milliseconds(500);
  absl::Duration store_duration = absl::Seconds(3);
  int64_t max_writes = 0;  // per store run; 0: bounded by duration only
  std::string store_dir;   // parent of the temporary database directories
  bool smoke = false;      // tiny bounded configuration for ctest
  // Data-subject request benchmarks: real dsard and refbackend processes.
  std::string dsard_path;       // default: the dsard built with dsar-bench
  std::string refbackend_path;  // default: the refbackend built with dsar-bench
  int request_people = 10000;   // synthetic people in each backend
  int requests = 1000;          // ACCESS requests sent at once
  int heavy_records = 100000;   // records of the one person in large_export
  int connector_concurrency = 16;
  // Connector benchmarks.
  int connector_latency_ms = 100;  // added by each refbackend (erase_job_latency)
  int connector_jobs = 20;         // jobs timed (erase_job_latency)
  int connector_tasks = 10000;     // tasks queued (queued_erasures)
  // dsar-sql-connector benchmarks (a throw-away PostgreSQL 15 cluster).
  std::string sql_connector_path;  // default: the one built with dsar-bench
  int sql_members = 1000000;       // loyalty members (erase_throughput)
  int sql_erasures = 2000;         // persons erased each way (erase_throughput)
  int sql_concurrency = 4;         // calls / transactions in flight
  int sql_heavy_rows = 100000;     // rows of the one member exported (export_heavy)
  // Consent ledger: stored consents for CheckConsent, and where the large
  // seeded store is kept between runs.
  int64_t consent_small = 10000;
  int64_t consent_large = 1000000;
  std::string consent_cache_dir;  // default <store_dir>/dsar-bench-consent-cache
  // Deadline engine: open deadlines days away, a burst due at one instant,
  // the time from seeding the burst to that instant, and where the seeded
  // pending deadlines are kept between runs.
  int64_t deadline_pending = 1000000;
  int64_t deadline_burst = 100000;
  absl::Duration deadline_lead = absl::Seconds(30);
  std::string deadline_cache_dir;  // default <store_dir>/dsar-bench-deadline-cache

  LoadOptions Load() const {
    LoadOptions o;
    o.connections = connections;
    o.outstanding_per_connection = outstanding;
    o.warmup = warmup;
    o.duration = duration;
    o.max_requests = max_requests;
    return o;
  }
  StoreLoadOptions StoreLoad() const {
    StoreLoadOptions o;
    o.submitters = submitters;
    o.warmup = store_warmup;
    o.duration = store_duration;
    o.max_writes = max_writes;
    return o;
  }
};

const BenchConfig& Config();
void SetConfig(const BenchConfig& config);

// Records that benchmark `name` failed (`why` is printed to stderr).
void MarkFailed(const std::string& name, const std::string& why);
bool AnyFailed();

// Registration hooks, called from main after the flags are parsed.
void RegisterEchoBenchmarks();
void RegisterStoreBenchmarks();
void RegisterPrivacyRequestBenchmarks();
void RegisterConnectorBenchmarks();
void RegisterConsentBenchmarks();
void RegisterDeadlineBenchmarks();
void RegisterSqlConnectorBenchmarks();

}  // namespace dsar::bench

#endif  // DSAR_TOOLS_BENCH_BENCH_CONFIG_H_
