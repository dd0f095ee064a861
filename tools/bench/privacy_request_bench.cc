// Data-subject requests end to end against real processes: dsard and two
// refbackends (booking, CRM) started by the benchmark on 127.0.0.1:0 under a
// scratch directory, the binaries built with dsar-bench (--dsard,
// --refbackend override them).
//
//   requests/access_concurrent  --request_people synthetic people in each
//       backend; --requests ACCESS requests (verified at filing) sent at once,
//       all in flight together; each fans out to both backends, streams the
//       person's records into encrypted parts and assembles a bundle. Rate:
//       requests completed per second from the first send to the last
//       completion (the iteration time); p50/p99: receipt to completion per
//       request, as dsard logs it in "privacy_request_completed".
//   requests/large_export  one person given --heavy_records extra booking
//       rows; one ACCESS request, then the bundle is downloaded. Time: filing
//       to completion; counters: dsard's RSS growth over its size at ready
//       (VmHWM - VmRSS), records and MiB downloaded, download rate.
//
// There is no echo ratio: completion is asynchronous work, not an RPC.
// Synthetic people only; loopback only; every wait is bounded.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "dsar/v1/privacy_request.grpc.pb.h"
#include "lib/store/idempotency.h"
#include "tests/testing/temp_dir.h"
#include "tools/bench/bench_config.h"
#include "tools/bench/latency_histogram.h"
#include "tools/bench/report.h"
#include "tools/bench/watched_process.h"

namespace dsar::bench {
namespace {

constexpr char kServiceToken[] = "bench-token-svc";
constexpr char kDpoToken[] = "bench-token-dpo";
constexpr absl::Duration kStartTimeout = absl::Minutes(5);
constexpr absl::Duration kCompletionTimeout = absl::Minutes(15);

constexpr char kCompleted[] = "privacy_request_completed";

// Lower-case hex SHA-256, as dsard's config stores bearer tokens.
std::string TokenHash(const std::string& token) {
  return absl::BytesToHexString(store::Fingerprint(token));
}

std::unique_ptr<WatchedProcess> StartBackend(const std::string& kind, int people,
                                             const std::string& db) {
  return std::make_unique<WatchedProcess>(
      std::vector<std::string>{Config().refbackend_path, "--kind=" + kind, "--listen=127.0.0.1:0",
                               "--db=" + db, "--seed=7", absl::StrCat("--people=", people),
                               "--threads=16"},
      std::vector<std::string>{});
}

// dsard's configuration for two backends, written to `dir`/dsard.textproto.
std::string WriteDsardConfig(const std::string& dir, int booking_port, int crm_port) {
  std::ofstream(dir + "/subject.key") << "bench-subject-key-0123456789abcdef0123456789";
  std::string text = absl::StrCat(
      "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\nshutdown_grace_ms: 2000\n",
      "log_level: \"info\"\ndatabase_path: \"", dir, "/dsar.db\"\nsubject_key_file: \"", dir,
      "/subject.key\"\n",
      "tenants { id: \"acme-travel\" controller_name: \"Acme Travel AB (synthetic)\" "
      "purposes { name: \"marketing\" current_notice_version: \"v1\" } }\n",
      "principals { name: \"svc\" role: \"service\" tenant: \"acme-travel\" token_sha256: \"",
      TokenHash(kServiceToken), "\" }\n",
      "principals { name: \"dpo\" role: \"dpo\" tenant: \"acme-travel\" token_sha256: \"",
      TokenHash(kDpoToken), "\" }\n", "limits { max_concurrent_calls: 4096 }\n",
      "deadline { disable_log_sink: true }\n");
  for (auto [name, port] : {std::pair<const char*, int>{"booking", booking_port},
                            std::pair<const char*, int>{"crm", crm_port}}) {
    absl::StrAppend(&text,
                    absl::StrFormat("connectors { name: \"%s\" address: \"127.0.0.1:%d\" "
                                    "max_concurrency: %d max_attempts: 8 call_timeout_ms: 10000 "
                                    "export_timeout_ms: 600000 initial_backoff_ms: 50 }\n",
                                    name, port, Config().connector_concurrency));
  }
  absl::StrAppend(&text,
                  "outbox { poll_interval_ms: 200 health_interval_ms: 60000 }\n"
                  "requests { worker_poll_interval_ms: 500 }\n");
  const std::string path = dir + "/dsard.textproto";
  std::ofstream(path) << text;
  return path;
}

std::unique_ptr<grpc::ClientContext> Context(const char* token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  return ctx;
}

// An ACCESS request for synthetic person `person` of the refbackends' seed.
v1::CreatePrivacyRequestRequest AccessRequest(int person) {
  v1::CreatePrivacyRequestRequest r;
  r.set_request_id(absl::StrFormat("bench-%06d", person));
  r.set_type(v1::PRIVACY_REQUEST_TYPE_ACCESS);
  auto* email = r.add_identifiers();
  email->set_type(v1::SUBJECT_IDENTIFIER_TYPE_EMAIL);
  email->set_value(absl::StrFormat("person-%04d@example.invalid", person));
  auto* customer = r.add_identifiers();
  customer->set_type(v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID);
  customer->set_value(absl::StrFormat("cust-%04d", person));
  r.mutable_verification()->set_method(v1::VERIFICATION_METHOD_AUTHENTICATED_SESSION);
  return r;
}

// Two refbackends and a dsard wired to them, all stopped at destruction
// (dsard first).
struct RequestStack {
  std::unique_ptr<WatchedProcess> booking, crm, dsard;
  std::unique_ptr<v1::PrivacyRequestService::Stub> stub;

  ~RequestStack() { dsard.reset(); }

  // Starts dsard against backends already started; false when one failed.
  absl::Status StartDsard(const std::string& dir) {
    const int booking_port = booking->AwaitReady(kStartTimeout);
    const int crm_port = crm->AwaitReady(kStartTimeout);
    if (booking_port == 0 || crm_port == 0) return absl::UnavailableError("refbackend not ready");
    dsard = std::make_unique<WatchedProcess>(
        std::vector<std::string>{Config().dsard_path, "--config",
                                 WriteDsardConfig(dir, booking_port, crm_port)},
        std::vector<std::string>{kCompleted});
    const int port = dsard->AwaitReady(kStartTimeout);
    if (port == 0) return absl::UnavailableError("dsard not ready");
    stub = v1::PrivacyRequestService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    return absl::OkStatus();
  }
};

void SetMiB(benchmark::State& state, const char* name, int64_t kb) {
  state.counters[name] = static_cast<double>(kb) / 1024.0;
}

void BM_AccessRequestsConcurrent(benchmark::State& state) {
  const BenchConfig& config = Config();
  testing::TempDir dir(config.store_dir);
  if (dir.path().empty()) return Fail(state, absl::UnavailableError("no scratch directory"));
  RequestStack stack;
  stack.booking = StartBackend("booking", config.request_people, dir.path() + "/booking.db");
  stack.crm = StartBackend("crm", config.request_people, dir.path() + "/crm.db");
  if (absl::Status s = stack.StartDsard(dir.path()); !s.ok()) return Fail(state, s);
  const int64_t rss_ready = stack.dsard->StatusKb("VmRSS");

  struct Call {
    std::unique_ptr<grpc::ClientContext> ctx;
    v1::CreatePrivacyRequestRequest request;
    v1::CreatePrivacyRequestResponse response;
    bool ok = false;
  };
  for (auto _ : state) {
    std::vector<Call> calls(config.requests);
    absl::Mutex mu;
    int answered = 0;
    const absl::Time t0 = absl::Now();
    for (int i = 0; i < config.requests; ++i) {
      Call& c = calls[i];
      c.ctx = Context(kServiceToken);
      c.request = AccessRequest(1 + (i % config.request_people));
      stack.stub->async()->CreatePrivacyRequest(c.ctx.get(), &c.request, &c.response,
                                                [&c, &mu, &answered](grpc::Status status) {
                                                  c.ok = status.ok();
                                                  absl::MutexLock lock(&mu);
                                                  ++answered;
                                                });
    }
    {
      absl::MutexLock lock(&mu);
      auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return answered == config.requests; };
      mu.Await(absl::Condition(&all));
    }
    const int filed = static_cast<int>(
        std::count_if(calls.begin(), calls.end(), [](const Call& c) { return c.ok; }));
    if (!stack.dsard->AwaitEvents(kCompleted, filed, kCompletionTimeout)) {
      return Fail(state, absl::DeadlineExceededError("requests did not complete in time"));
    }
    const double seconds = absl::ToDoubleSeconds(stack.dsard->LastEventTime(kCompleted) - t0);
    state.SetIterationTime(seconds);
    LatencyHistogram completion;
    for (const std::string& line : stack.dsard->Events(kCompleted)) {
      auto obj = nlohmann::json::parse(line, nullptr, false);
      if (obj.is_object()) completion.Record(absl::Milliseconds(obj.value("since_receipt_ms", 0)));
    }
    state.SetItemsProcessed(filed);
    state.counters["ok"] = filed;
    state.counters["errors"] = config.requests - filed;
    state.counters["p50_us"] = absl::ToDoubleMicroseconds(completion.Percentile(0.50));
    state.counters["p99_us"] = absl::ToDoubleMicroseconds(completion.Percentile(0.99));
    SetMiB(state, "rss_ready_mib", rss_ready);
    SetMiB(state, "rss_peak_mib", stack.dsard->StatusKb("VmHWM"));
    state.SetLabel(
        absl::StrFormat("%d requests at once, 2 backends x %d people, "
                        "p50/p99 = receipt to completion",
                        config.requests, config.request_people));
    if (filed < config.requests) MarkFailed(CurrentBenchmarkName(), "some filings failed");
  }
}

// Gives person 1 of a stopped booking backend `records` more bookings.
absl::Status AddBookings(const std::string& booking_db, int records) {
  try {
    SQLite::Database db(booking_db, SQLite::OPEN_READWRITE);
    SQLite::Transaction txn(db);
    SQLite::Statement insert(db,
                             "INSERT INTO bookings (person_id, booking_date, amount_cents, "
                             "region, guest_name, created_at_us) VALUES (1, ?, ?, 'north', "
                             "'Person 0001', ?)");
    for (int i = 0; i < records; ++i) {
      insert.reset();
      insert.bind(1, absl::StrFormat("2025-%02d-%02d", 1 + i % 12, 1 + i % 28));
      insert.bind(2, 100 + i % 50000);
      insert.bind(3, static_cast<int64_t>(1735689600000000LL + int64_t{i} * 1000000));
      insert.exec();
    }
    txn.commit();
  } catch (const SQLite::Exception& e) {
    return absl::InternalError(e.what());
  }
  return absl::OkStatus();
}

void BM_LargeExport(benchmark::State& state) {
  const BenchConfig& config = Config();
  testing::TempDir dir(config.store_dir);
  if (dir.path().empty()) return Fail(state, absl::UnavailableError("no scratch directory"));
  const std::string booking_db = dir.path() + "/booking.db";
  {
    auto seed = StartBackend("booking", 100, booking_db);  // creates and seeds the schema
    if (seed->AwaitReady(kStartTimeout) == 0)
      return Fail(state, absl::UnavailableError("refbackend"));
  }
  if (absl::Status s = AddBookings(booking_db, config.heavy_records); !s.ok()) {
    return Fail(state, s);
  }
  RequestStack stack;
  stack.booking = StartBackend("booking", 100, booking_db);
  stack.crm = StartBackend("crm", 100, dir.path() + "/crm.db");
  if (absl::Status s = stack.StartDsard(dir.path()); !s.ok()) return Fail(state, s);
  const int64_t rss_ready = stack.dsard->StatusKb("VmRSS");
  for (auto _ : state) {
    const absl::Time t0 = absl::Now();
    v1::CreatePrivacyRequestResponse created;
    auto ctx = Context(kServiceToken);
    grpc::Status status = stack.stub->CreatePrivacyRequest(ctx.get(), AccessRequest(1), &created);
    if (!status.ok()) return Fail(state, absl::UnknownError(status.error_message()));
    if (!stack.dsard->AwaitEvents(kCompleted, 1, kCompletionTimeout)) {
      return Fail(state, absl::DeadlineExceededError("export did not complete in time"));
    }
    state.SetIterationTime(absl::ToDoubleSeconds(stack.dsard->LastEventTime(kCompleted) - t0));
    v1::DownloadExportRequest download;
    download.set_name(created.privacy_request().name());
    download.set_recipient(v1::DISCLOSURE_RECIPIENT_DATA_SUBJECT);
    auto dctx = Context(kDpoToken);
    const absl::Time d0 = absl::Now();
    auto reader = stack.stub->DownloadExport(dctx.get(), download);
    v1::DownloadExportResponse message;
    int64_t bytes = 0, records = 0;
    while (reader->Read(&message)) {
      if (message.has_digest()) {
        records = message.digest().record_count();
      } else {
        bytes += static_cast<int64_t>(message.chunk().size());
      }
    }
    status = reader->Finish();
    if (!status.ok()) return Fail(state, absl::UnknownError(status.error_message()));
    const double download_s = absl::ToDoubleSeconds(absl::Now() - d0);
    const int64_t hwm = stack.dsard->StatusKb("VmHWM");
    state.counters["records"] = static_cast<double>(records);
    state.counters["bundle_mib"] = static_cast<double>(bytes) / 1048576.0;
    state.counters["download_mib_per_s"] = static_cast<double>(bytes) / 1048576.0 / download_s;
    SetMiB(state, "rss_ready_mib", rss_ready);
    SetMiB(state, "rss_growth_mib", hwm - rss_ready);
    state.SetLabel(absl::StrFormat("%d records of one person; RSS growth %.1f MiB (limit 64)",
                                   config.heavy_records, (hwm - rss_ready) / 1024.0));
    if (records < config.heavy_records) {
      MarkFailed(CurrentBenchmarkName(), "the bundle lacks records");
    }
  }
}

}  // namespace

void RegisterPrivacyRequestBenchmarks() {
  RegisterOnce("requests/access_concurrent", BM_AccessRequestsConcurrent);
  RegisterOnce("requests/large_export", BM_LargeExport);
}

}  // namespace dsar::bench
