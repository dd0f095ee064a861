// Consent ledger (issue 4) through dsard's real wiring: a Dsard started
// in-process on 127.0.0.1:0 (real gRPC server with its call gate and request
// metrics, real SQLite file under --store_dir), driven by the load
// generator with the run's client settings, so every rate compares with
// `echo` measured in the same run.
//
//   consent/record              RecordConsent, closed loop; each call a new
//                               synthetic subject, acknowledged only after its
//                               group's fsync'd COMMIT (fresh database).
//   consent/record/half_peak    the same paced at 0.5 x the peak just measured.
//   consent/check/stored:N      CheckConsent, closed loop, over N stored
//                               consents (N = --consent_small, default 10,000,
//                               and --consent_large, default 1,000,000), each
//                               call a uniformly random stored subject that
//                               must be GRANTED.
//   consent/check/stored:N/half_peak   the same paced, every N at one rate:
//                               0.5 x the small store's peak (its latency
//                               with 1,000,000 stored vs with 10,000).
//
// Stores are seeded through ConsentLedger::Record (the rows RecordConsent
// writes: the event with its request, the audit event) on a Store with
// groups of up to 10,000 writes per transaction, not through gRPC. The large
// store is kept under --consent_cache_dir (default
// <store_dir>/dsar-bench-consent-cache) and reused by later runs; a marker
// file written after a complete seeding makes it valid.
//
// Synthetic subjects only ("bench-subject-<n>"); loopback only.
#include <grpcpp/grpcpp.h>
#include <time.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "dsar/v1/consent.grpc.pb.h"
#include "lib/consent/consent_ledger.h"
#include "lib/consent/consent_state_index.h"
#include "lib/consent/purpose_catalog.h"
#include "lib/consent/subject_keyer.h"
#include "lib/core/clock.h"
#include "lib/core/config.h"
#include "lib/privacy_requests/identifiers.h"
#include "lib/privacy_requests/own_records.h"
#include "lib/store/store.h"
#include "services/call_gate.h"
#include "services/dsard.h"
#include "tests/testing/temp_dir.h"
#include "tools/bench/bench_config.h"
#include "tools/bench/load_generator.h"
#include "tools/bench/report.h"

namespace dsar::bench {
namespace {

namespace fs = std::filesystem;

// Synthetic secrets for a loopback-only benchmark server.
constexpr char kToken[] = "bench-token-svc-consent";
constexpr char kBearer[] = "Bearer bench-token-svc-consent";
constexpr char kSubjectKey[] = "dsar-bench-synthetic-subject-key-0123456789abcdef";
constexpr char kTenant[] = "bench-tenant";
constexpr char kPurpose[] = "booking";
constexpr char kNotice[] = "2026-03";
constexpr char kPrincipal[] = "svc-bench";

// Synthetic e-mail subjects (typed: the costliest type to normalise).
std::string SubjectId(int64_t n) { return absl::StrCat("bench-subject-", n, "@example.invalid"); }

// splitmix64: spreads check calls uniformly over the stored subjects.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// VmRSS / VmHWM of this process in MiB (0 when unreadable).
double ProcStatusMiB(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) != 0) continue;
    int64_t kb = 0;
    std::string digits;
    for (char c : line) {
      if (c >= '0' && c <= '9') digits += c;
    }
    if (absl::SimpleAtoi(digits, &kb)) return static_cast<double>(kb) / 1024.0;
  }
  return 0;
}

std::string ConfigText(const std::string& db_path, const std::string& key_file) {
  return absl::StrCat(
      "listen_address: \"127.0.0.1:0\"\n"
      "insecure_loopback: true\n"
      "shutdown_grace_ms: 5000\n"
      "log_level: \"warn\"\n"
      "database_path: \"",
      db_path, "\"\nsubject_key_file: \"", key_file,
      "\"\n"
      // Unlimited per-principal rate: the benchmark measures the server, not
      // the rate limiter. The in-flight limit stays at its default (1024),
      // above the generator's 16 x 32.
      "limits { per_principal_rps: 0 }\n"
      "tenants { id: \"",
      kTenant,
      "\" controller_name: \"Bench Travel AB (synthetic)\" jurisdiction: \"SE\"\n"
      "  purposes { name: \"",
      kPurpose, "\" current_notice_version: \"", kNotice,
      "\" description: \"Handling bookings\" } }\n"
      "principals { name: \"",
      kPrincipal, "\" role: \"service\" tenant: \"", kTenant, "\" token_sha256: \"",
      CallGate::TokenHash(kToken), "\" }\n");
}

absl::Status WriteKeyFile(const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << kSubjectKey;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<config::v1::DsardConfig> BenchDsardConfig(const std::string& db_path,
                                                         const std::string& key_file) {
  return ParseDsardConfig(ConfigText(db_path, key_file), "dsar-bench-consent");
}

// Records `count` consents (subjects 0..count-1, purpose kPurpose) through
// ConsentLedger::Record on a store with large groups. The key file must exist.
absl::Status Seed(const std::string& db_path, const std::string& key_file, int64_t count) {
  auto config = BenchDsardConfig(db_path, key_file);
  if (!config.ok()) return config.status();
  store::StoreOptions options;
  options.path = db_path;
  options.max_group_size = 10000;
  options.max_queue_depth = 100000;
  auto store = store::Store::Open(options);
  if (!store.ok()) return store.status();
  auto keyer = consent::SubjectKeyer::FromKeyFile(key_file);
  if (!keyer.ok()) return keyer.status();
  consent::PurposeCatalog catalog(*config);
  consent::ConsentLedger ledger(store->get(), SystemClock::Default(), keyer->get(), &catalog,
                                nullptr);

  constexpr int64_t kWindow = 20000;  // records in flight
  absl::Mutex mu;
  int64_t in_flight = 0;     // guarded by mu
  absl::Status first_error;  // guarded by mu
  CallContext ctx;
  ctx.principal = kPrincipal;
  ctx.role = Role::kService;
  ctx.tenant = kTenant;
  ctx.method = "/dsar.v1.ConsentService/RecordConsent";
  for (int64_t i = 0; i < count; ++i) {
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](int64_t* n) { return *n < kWindow; }, &in_flight));
      if (!first_error.ok()) break;
      ++in_flight;
    }
    ctx.idempotency_key = IdempotencyKey(absl::StrCat("seed-", i));
    consent::RecordConsentInput in;
    in.subject = {IdentifierType::kEmail, SubjectId(i)};
    in.purpose = kPurpose;
    in.notice_version = kNotice;
    in.language = "sv-SE";
    in.lawful_basis = consent::LawfulBasis::kConsent;
    in.channel = "bench-seed";
    ledger.Record(ctx, std::move(in),
                  [&mu, &in_flight, &first_error](absl::StatusOr<consent::ConsentReceipt> r) {
                    absl::MutexLock lock(&mu);
                    --in_flight;
                    if (!r.ok() && first_error.ok()) first_error = r.status();
                  });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int64_t* n) { return *n == 0; }, &in_flight));
  }
  (*store)->Close();
  absl::MutexLock lock(&mu);
  return first_error;
}

// dsard's wiring in-process on 127.0.0.1:0 over `db_path`.
class ConsentServer {
 public:
  static absl::StatusOr<std::unique_ptr<ConsentServer>> Start(const std::string& db_path,
                                                              const std::string& key_file) {
    auto config = BenchDsardConfig(db_path, key_file);
    if (!config.ok()) return config.status();
    auto daemon = Dsard::Start(*config);
    if (!daemon.ok()) return daemon.status();
    auto server = std::unique_ptr<ConsentServer>(new ConsentServer);
    server->daemon_ = std::move(*daemon);
    return server;
  }
  ~ConsentServer() { daemon_->Shutdown(); }

  std::string target() const { return absl::StrCat("127.0.0.1:", daemon_->port()); }
  store::WriterStats writer_stats() const { return daemon_->store().writer_stats(); }

 private:
  ConsentServer() = default;
  std::unique_ptr<Dsard> daemon_;
};

using v1::CheckConsentRequest;
using v1::CheckConsentResponse;
using v1::ConsentService;
using v1::RecordConsentRequest;
using v1::RecordConsentResponse;

// Each call records a consent for a new synthetic subject with a new
// request_id; `next` numbers them across the runs against one server.
ClientFactory RecordClient(std::shared_ptr<std::atomic<int64_t>> next) {
  return [next](const std::shared_ptr<grpc::Channel>& channel) -> CallFn {
    std::shared_ptr<ConsentService::Stub> stub = ConsentService::NewStub(channel);
    return [stub, next](int64_t, CallDone done) {
      int64_t n = next->fetch_add(1, std::memory_order_relaxed);
      RecordConsentRequest request;
      request.set_request_id(absl::StrCat("bench-rec-", n));
      request.mutable_subject()->set_type(v1::SUBJECT_IDENTIFIER_TYPE_EMAIL);
      request.mutable_subject()->set_value(absl::StrCat("bench-subject-r", n, "@example.invalid"));
      request.set_purpose(kPurpose);
      request.set_notice_version(kNotice);
      request.set_language("sv-SE");
      request.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
      request.set_channel("web-booking");
      StartUnaryCall<RecordConsentRequest, RecordConsentResponse>(
          std::move(request), absl::Seconds(10),
          [&stub](grpc::ClientContext* context, const RecordConsentRequest* req,
                  RecordConsentResponse* resp, std::function<void(grpc::Status)> on_done) {
            context->AddMetadata("authorization", kBearer);
            stub->async()->RecordConsent(context, req, resp, std::move(on_done));
          },
          [](const RecordConsentResponse& response) {
            return response.receipt().receipt_id().empty() ||
                           response.receipt().state() != v1::CONSENT_STATE_GRANTED
                       ? grpc::Status(grpc::StatusCode::DATA_LOSS, "no granted receipt")
                       : grpc::Status::OK;
          },
          std::move(done));
    };
  };
}

// Each call checks a uniformly random subject among `stored`, which must be
// GRANTED with a receipt.
ClientFactory CheckClient(int64_t stored) {
  auto next = std::make_shared<std::atomic<uint64_t>>(0);
  return [next, stored](const std::shared_ptr<grpc::Channel>& channel) -> CallFn {
    std::shared_ptr<ConsentService::Stub> stub = ConsentService::NewStub(channel);
    return [stub, next, stored](int64_t, CallDone done) {
      uint64_t n = next->fetch_add(1, std::memory_order_relaxed);
      CheckConsentRequest request;
      request.mutable_subject()->set_type(v1::SUBJECT_IDENTIFIER_TYPE_EMAIL);
      request.mutable_subject()->set_value(SubjectId(static_cast<int64_t>(Mix(n) % stored)));
      request.set_purpose(kPurpose);
      StartUnaryCall<CheckConsentRequest, CheckConsentResponse>(
          std::move(request), absl::Seconds(10),
          [&stub](grpc::ClientContext* context, const CheckConsentRequest* req,
                  CheckConsentResponse* resp, std::function<void(grpc::Status)> on_done) {
            context->AddMetadata("authorization", kBearer);
            stub->async()->CheckConsent(context, req, resp, std::move(on_done));
          },
          [](const CheckConsentResponse& response) {
            return response.state() == v1::CONSENT_STATE_GRANTED && !response.receipt_id().empty()
                       ? grpc::Status::OK
                       : grpc::Status(grpc::StatusCode::DATA_LOSS, "stored consent not granted");
          },
          std::move(done));
    };
  };
}

void ReportPaced(benchmark::State& state, const PacedResult& result) {
  ReportLoad(state, result.paced);
  state.counters["target_qps"] = result.target_qps;
  state.counters["peak_qps"] = result.peak.qps;
}

// The store writer's groups between two snapshots: mean size, mean commit
// time (BEGIN to the end of the fsync'd COMMIT) and the histogram bound under
// which 99% of the commits finished.
void ReportGroups(benchmark::State& state, const store::WriterStats& before,
                  const store::WriterStats& after, int64_t calls) {
  int64_t groups = 0;
  std::array<int64_t, 13> commits{};
  for (size_t i = 0; i < commits.size(); ++i) {
    commits[i] = after.commit_seconds_counts[i] - before.commit_seconds_counts[i];
    groups += commits[i];
  }
  if (groups == 0) return;
  const int64_t writes = after.group_size_sum - before.group_size_sum;
  const double seconds = after.commit_seconds_sum - before.commit_seconds_sum;
  state.counters["mean_group"] = static_cast<double>(writes) / groups;
  // Records share one store write per batch (ConsentLedger), so a group
  // holds one write but many calls: calls per commit is the batching.
  state.counters["calls_per_commit"] = static_cast<double>(calls) / groups;
  state.counters["commit_mean_ms"] = 1000 * seconds / groups;
  state.counters["commits"] = static_cast<double>(groups);
  state.counters["writer_busy_s"] = seconds;  // BEGIN to end of COMMIT, summed
  // The writer thread's own CPU per call (every call of the run, warm-up
  // included, as the writer's figures are; a store write holds a batch of
  // them): its share of the one serial stage.
  if (calls > 0) {
    state.counters["writer_cpu_us_per_call"] =
        1e6 * (after.writer_cpu_seconds_sum - before.writer_cpu_seconds_sum) /
        static_cast<double>(calls);
  }
  int64_t seen = 0;
  for (size_t i = 0; i < commits.size(); ++i) {
    seen += commits[i];
    if (seen * 100 >= groups * 99) {
      const auto& bounds = store::WriterStats::kCommitSecondsBounds;
      state.counters["commit_p99_ms_le"] =
          1000 * (i < bounds.size() ? bounds[i] : 2 * bounds.back());
      break;
    }
  }
}

void BM_Record(benchmark::State& state, bool half_peak) {
  const BenchConfig& config = Config();
  testing::TempDir dir(config.store_dir);
  if (dir.path().empty()) {
    return Fail(state, absl::UnavailableError(
                           absl::StrCat("cannot create a directory under ", config.store_dir)));
  }
  const std::string key_file = dir.path() + "/subject.key";
  if (absl::Status s = WriteKeyFile(key_file); !s.ok()) return Fail(state, s);
  auto server = ConsentServer::Start(dir.path() + "/dsar.db", key_file);
  if (!server.ok()) return Fail(state, server.status());
  auto next = std::make_shared<std::atomic<int64_t>>(0);
  const ChannelFactory channels = InsecureChannelFactory((*server)->target());
  for (auto _ : state) {
    LoadOptions options = config.Load();
    PacedResult paced;
    if (half_peak) {
      // As RunLoadAtFractionOfPeak, with the writer's groups counted over the
      // paced run only.
      auto peak = RunLoad(options, channels, RecordClient(next));
      if (!peak.ok()) return Fail(state, peak.status());
      if (peak->qps <= 0) return Fail(state, absl::UnavailableError("no call succeeded at peak"));
      paced.peak = *peak;
      paced.target_qps = 0.5 * peak->qps;
      options.target_qps = paced.target_qps;
    }
    const store::WriterStats before = (*server)->writer_stats();
    const int64_t first_call = next->load();
    auto result = RunLoad(options, channels, RecordClient(next));
    const int64_t calls = next->load() - first_call;  // every call started, all drained
    const store::WriterStats after = (*server)->writer_stats();
    if (!result.ok()) return Fail(state, result.status());
    if (half_peak) {
      paced.paced = *result;
      ReportPaced(state, paced);
    } else {
      ReportLoad(state, *result);
    }
    ReportGroups(state, before, after, calls);
  }
}

// The database with `count` stored consents and its key file: under a scratch
// directory for the small store, under the cache directory for the large one.
struct SeededStore {
  std::string db_path;
  std::string key_file;
  absl::Duration seeding_time;  // zero when taken from the cache
};

absl::StatusOr<SeededStore> SeededStoreFor(int64_t count, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  SeededStore s;
  // "typed": e-mail subjects under typed keys (issue 18); older caches held
  // untyped ids.
  s.db_path = absl::StrCat(dir, "/consents-typed-", count, ".db");
  s.key_file = dir + "/subject.key";
  const std::string marker = s.db_path + ".complete";
  if (fs::exists(marker) && fs::exists(s.db_path) && fs::exists(s.key_file)) return s;
  for (const char* suffix : {"", "-wal", "-shm", ".complete"}) {
    fs::remove(s.db_path + suffix, ec);
  }
  if (absl::Status w = WriteKeyFile(s.key_file); !w.ok()) return w;
  const absl::Time start = absl::Now();
  if (absl::Status seeded = Seed(s.db_path, s.key_file, count); !seeded.ok()) return seeded;
  s.seeding_time = absl::Now() - start;
  std::ofstream(marker) << count << "\n";
  return s;
}

void BM_Check(benchmark::State& state, int64_t stored, bool cached, bool half_peak) {
  const BenchConfig& config = Config();
  testing::TempDir scratch(config.store_dir);
  const std::string dir = cached ? config.consent_cache_dir : scratch.path();
  if (dir.empty()) {
    return Fail(state, absl::UnavailableError(
                           absl::StrCat("cannot create a directory under ", config.store_dir)));
  }
  auto seeded = SeededStoreFor(stored, dir);
  if (!seeded.ok()) return Fail(state, seeded.status());
  const double rss_before = ProcStatusMiB("VmRSS:");
  auto server = ConsentServer::Start(seeded->db_path, seeded->key_file);
  if (!server.ok()) return Fail(state, server.status());
  std::string errors;  // ReportLoad's label when the run saw errors
  for (auto _ : state) {
    LoadResult measured;
    if (half_peak) {
      // Both stores are paced at the same rate, half of the small store's
      // peak (its first run sets it), so their latencies compare.
      static double common_rate = 0;
      const ChannelFactory channels = InsecureChannelFactory((*server)->target());
      auto peak = RunLoad(config.Load(), channels, CheckClient(stored));
      if (!peak.ok()) return Fail(state, peak.status());
      if (peak->qps <= 0) return Fail(state, absl::UnavailableError("no call succeeded at peak"));
      PacedResult result;
      result.peak = *peak;
      result.target_qps = common_rate > 0 ? common_rate : 0.5 * peak->qps;
      if (stored == config.consent_small && common_rate == 0) common_rate = result.target_qps;
      LoadOptions paced = config.Load();
      paced.target_qps = result.target_qps;
      auto at_rate = RunLoad(paced, channels, CheckClient(stored));
      if (!at_rate.ok()) return Fail(state, at_rate.status());
      result.paced = *at_rate;
      ReportPaced(state, result);
      measured = result.paced;
    } else {
      auto result =
          RunLoad(config.Load(), InsecureChannelFactory((*server)->target()), CheckClient(stored));
      if (!result.ok()) return Fail(state, result.status());
      ReportLoad(state, *result);
      measured = *result;
    }
    if (measured.errors > 0) errors = absl::StrCat("errors: ", measured.ErrorSummary(), "; ");
  }
  // The server is still up: the whole dsar-bench process (in-process dsard,
  // load generator and the client channels' leftovers) and its growth since
  // just before dsard started.
  const double rss = ProcStatusMiB("VmRSS:");
  const double anon = ProcStatusMiB("RssAnon:");
  const double file = ProcStatusMiB("RssFile:");
  state.counters["stored"] = static_cast<double>(stored);
  state.counters["rss_mib"] = rss;
  state.counters["rss_growth_mib"] = rss - rss_before;
  state.counters["rss_anon_mib"] = anon;
  state.counters["rss_file_mib"] = file;
  // RssFile includes the pages of the database file that the read
  // connections' memory maps touched (page cache, shared and reclaimable).
  std::string label =
      absl::StrCat(errors, "dsar-bench RSS ", static_cast<int64_t>(rss), " MiB (anon ",
                   static_cast<int64_t>(anon), ", file-backed ", static_cast<int64_t>(file), "), +",
                   static_cast<int64_t>(rss - rss_before), " MiB since dsard started in-process");
  if (seeded->seeding_time > absl::ZeroDuration()) {
    absl::StrAppend(
        &label, "; seeded ", stored, " in ",
        absl::FormatDuration(absl::Trunc(seeded->seeding_time, absl::Milliseconds(100))));
  }
  state.SetLabel(label);
}

// CPU time of the calling thread.
absl::Duration ThreadCpu() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return absl::DurationFromTimespec(ts);
}

// The dsard side of an erasure's identity resolution over `stored` consents,
// as dsard runs it (privacy_requests::EraseOwnRecords on the store's writer thread,
// with the consent state index loaded): a person of three identifiers (the
// e-mail their consent is stored under, a customer id and a phone the
// systems reported, which have none) has their keys computed, the consent
// events under any of them anonymised, and their other requests' bundles
// looked up. Each erasure's transaction is rolled back (the cached store
// stays intact for the CheckConsent rows); the figure is the writer
// thread's CPU for the work, without the commit.
void BM_ErasureResolution(benchmark::State& state, int64_t stored, bool cached) {
  const BenchConfig& config = Config();
  testing::TempDir scratch(config.store_dir);
  const std::string dir = cached ? config.consent_cache_dir : scratch.path();
  auto seeded = SeededStoreFor(stored, dir);
  if (!seeded.ok()) return Fail(state, seeded.status());
  store::StoreOptions options;
  options.path = seeded->db_path;
  auto store = store::Store::Open(options);
  if (!store.ok()) return Fail(state, store.status());
  auto keyer = consent::SubjectKeyer::FromKeyFile(seeded->key_file, {kTenant});
  if (!keyer.ok()) return Fail(state, keyer.status());
  auto index = consent::ConsentStateIndex::Load(**store, 2 * stored + 10);
  if (!index.ok()) return Fail(state, index.status());
  constexpr int kErasures = 50;
  absl::Duration cpu_sum, cpu_max, wall_sum;
  int64_t found = 0, erasures = 0;
  for (auto _ : state) {
    for (int i = 0; i < kErasures; ++i) {
      const int64_t person = static_cast<int64_t>(Mix(static_cast<uint64_t>(i)) % stored);
      absl::Duration cpu;
      const absl::Time started = absl::Now();
      absl::Status s = (*store)->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
        const absl::Duration cpu_start = ThreadCpu();
        std::vector<SubjectIdentifier> person_ids = {
            {IdentifierType::kEmail, SubjectId(person)},
            {IdentifierType::kCustomerId, absl::StrCat("cust-", person)},
            {IdentifierType::kPhone, absl::StrCat("+4670", 1000000 + person)}};
        const std::vector<std::string> keys =
            privacy_requests::SubjectKeys(**keyer, kTenant, person_ids);
        auto erased = privacy_requests::EraseOwnRecords(txn, index->get(), kTenant, "pr_bench",
                                                        keys, absl::Now());
        cpu = ThreadCpu() - cpu_start;
        if (!erased.ok()) return erased.status();
        found += erased->consent_events;
        return absl::AbortedError("rolled back: the cached store stays as seeded");
      });
      if (!absl::IsAborted(s)) return Fail(state, s.ok() ? absl::InternalError("committed") : s);
      wall_sum += absl::Now() - started;
      cpu_sum += cpu;
      cpu_max = std::max(cpu_max, cpu);
      ++erasures;
    }
    state.SetIterationTime(absl::ToDoubleSeconds(wall_sum));
  }
  if (found != erasures) {
    return Fail(state, absl::DataLossError(absl::StrCat("found ", found, " consent events for ",
                                                        erasures, " erasures; expected one each")));
  }
  const double mean_ms = absl::ToDoubleMilliseconds(cpu_sum) / static_cast<double>(erasures);
  state.counters["stored"] = static_cast<double>(stored);
  state.counters["erasures"] = static_cast<double>(erasures);
  state.counters["cpu_ms_mean"] = mean_ms;
  state.counters["cpu_ms_max"] = absl::ToDoubleMilliseconds(cpu_max);
  state.counters["wall_ms_mean"] =
      absl::ToDoubleMilliseconds(wall_sum) / static_cast<double>(erasures);
  state.SetLabel(absl::StrCat(
      erasures, " erasures of 3 identifiers over ", stored, " stored consents; writer CPU mean ",
      absl::StrFormat("%.3f", mean_ms), " ms, max ",
      absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(cpu_max)),
      " ms (budget 50 ms: ", absl::ToDoubleMilliseconds(cpu_max) < 50 ? "met" : "missed", ")"));
  (*store)->Close();
}

}  // namespace

void RegisterConsentBenchmarks() {
  const BenchConfig& config = Config();
  RegisterOnce("consent/record", [](benchmark::State& s) { BM_Record(s, false); });
  RegisterOnce("consent/record/half_peak", [](benchmark::State& s) { BM_Record(s, true); });
  for (int64_t stored : {config.consent_small, config.consent_large}) {
    // The large store is cached between runs (not in the --smoke test).
    const bool cached = !config.smoke && stored == config.consent_large;
    const std::string name = absl::StrCat("consent/check/stored:", stored);
    RegisterOnce(name,
                 [stored, cached](benchmark::State& s) { BM_Check(s, stored, cached, false); });
    RegisterOnce(name + "/half_peak",
                 [stored, cached](benchmark::State& s) { BM_Check(s, stored, cached, true); });
  }
  // Identity resolution of an erasure (issue 18) over the large store.
  const int64_t large = config.consent_large;
  const bool cached = !config.smoke;
  RegisterOnce(absl::StrCat("requests/erasure_identity_resolution/stored:", large),
               [large, cached](benchmark::State& s) { BM_ErasureResolution(s, large, cached); });
}

}  // namespace dsar::bench
