// privacy_request_bench: data-subject requests end to end against real
// processes (dsard and two refbackends on loopback), for docs/benchmarks.md.
//
//   1. Throughput: two refbackends holding --people synthetic people each;
//      --requests ACCESS requests (verified at filing) sent to dsard at once
//      (all in flight concurrently); each fans out to both backends, the
//      records are streamed into encrypted parts and assembled into a bundle.
//      Reports requests completed per second (first send to last completion)
//      and the time from receipt to completion per request (p50/p99/max, as
//      dsard logs it in "privacy_request_completed"), and dsard's peak RSS.
//   2. One large export: one person given --heavy-records booking rows; one
//      ACCESS request, then the bundle is downloaded. Reports the time to
//      completion, the download rate, and dsard's RSS growth over its
//      resident size at ready (VmHWM - VmRSS at ready).
// Not a test: run by hand. Synthetic people only; loopback only.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
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
#include "absl/time/clock.h"
#include "dsar/v1/privacy_request.grpc.pb.h"

namespace {

constexpr char kServiceToken[] = "bench-token-svc";
constexpr char kDpoToken[] = "bench-token-dpo";

// A child process whose output goes to a log file; a reader thread finds the
// "ready" line and counts "privacy_request_completed" lines.
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
        if (strstr(line, "\"event\":\"privacy_request_completed\"") != nullptr) {
          auto obj = nlohmann::json::parse(line, nullptr, false);
          absl::MutexLock lock(&mu_);
          completed_ms_.push_back(obj.is_object() ? obj.value("since_receipt_ms", int64_t{-1})
                                                  : -1);
          last_completion_ = absl::Now();
        }
      }
      free(line);
      fclose(in);
      if (!ready_.HasBeenNotified()) ready_.Notify();
    });
  }
  ~Child() { Stop(SIGTERM); }
  int AwaitReady() { return ready_.WaitForNotificationWithTimeout(absl::Seconds(300)) ? port_ : 0; }
  // Waits until `n` completions were logged; false after `timeout`.
  bool AwaitCompletions(size_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return completed_ms_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  std::vector<int64_t> completed_ms() {
    absl::MutexLock lock(&mu_);
    return completed_ms_;
  }
  absl::Time last_completion() {
    absl::MutexLock lock(&mu_);
    return last_completion_;
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
  absl::Mutex mu_;
  std::vector<int64_t> completed_ms_ ABSL_GUARDED_BY(mu_);
  absl::Time last_completion_ ABSL_GUARDED_BY(mu_);
};

int64_t ProcStatusKb(pid_t pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}

// Lower-case hex SHA-256, as dsard's config stores bearer tokens.
std::string Sha256Hex(const std::string& s) {
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, out, sizeof out);
  return hex;
}

int64_t Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct Setup {
  std::string dir, dsard, refbackend;
  int people = 10000;
  int concurrency = 16;
};

// Starts a refbackend (info level: its "ready" line carries the port).
int StartBackendInfo(const Setup& s, const std::string& kind, int people,
                     std::unique_ptr<Child>* out, const std::string& db) {
  *out = std::make_unique<Child>(
      std::vector<std::string>{s.refbackend, "--kind=" + kind, "--listen=127.0.0.1:0", "--db=" + db,
                               "--seed=7", absl::StrCat("--people=", people), "--threads=16"},
      db + ".log");
  return (*out)->AwaitReady();
}

std::string WriteDsardConfig(const Setup& s, const std::string& dir, int booking, int crm,
                             const std::string& token_hash_svc, const std::string& token_hash_dpo) {
  std::ofstream(dir + "/subject.key") << "bench-subject-key-0123456789abcdef0123456789";
  std::string text = absl::StrCat(
      "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\nshutdown_grace_ms: 2000\n",
      "log_level: \"info\"\ndatabase_path: \"", dir, "/dsar.db\"\nsubject_key_file: \"", dir,
      "/subject.key\"\n",
      "tenants { id: \"acme-travel\" controller_name: \"Acme Travel AB (synthetic)\" "
      "purposes { name: \"marketing\" current_notice_version: \"v1\" } }\n",
      "principals { name: \"svc\" role: \"service\" tenant: \"acme-travel\" token_sha256: \"",
      token_hash_svc, "\" }\n",
      "principals { name: \"dpo\" role: \"dpo\" tenant: \"acme-travel\" token_sha256: \"",
      token_hash_dpo, "\" }\n", "limits { max_concurrent_calls: 4096 }\n",
      "deadline { disable_log_sink: true }\n");
  for (auto [name, port] :
       {std::pair<const char*, int>{"booking", booking}, std::pair<const char*, int>{"crm", crm}}) {
    absl::StrAppend(&text,
                    absl::StrFormat("connectors { name: \"%s\" address: \"127.0.0.1:%d\" "
                                    "max_concurrency: %d max_attempts: 8 call_timeout_ms: 10000 "
                                    "export_timeout_ms: 600000 initial_backoff_ms: 50 }\n",
                                    name, port, s.concurrency));
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

dsar::v1::CreatePrivacyRequestRequest AccessRequest(int person) {
  dsar::v1::CreatePrivacyRequestRequest r;
  r.set_request_id(absl::StrFormat("bench-%06d", person));
  r.set_type(dsar::v1::PRIVACY_REQUEST_TYPE_ACCESS);
  auto* email = r.add_identifiers();
  email->set_type(dsar::v1::SUBJECT_IDENTIFIER_TYPE_EMAIL);
  email->set_value(absl::StrFormat("person-%04d@example.invalid", person));
  auto* customer = r.add_identifiers();
  customer->set_type(dsar::v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID);
  customer->set_value(absl::StrFormat("cust-%04d", person));
  r.mutable_verification()->set_method(dsar::v1::VERIFICATION_METHOD_AUTHENTICATED_SESSION);
  return r;
}

int Throughput(const Setup& s, int requests, const std::string& svc_hash,
               const std::string& dpo_hash) {
  const std::string dir = s.dir + "/throughput";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::unique_ptr<Child> booking, crm;
  const int booking_port = StartBackendInfo(s, "booking", s.people, &booking, dir + "/booking.db");
  const int crm_port = StartBackendInfo(s, "crm", s.people, &crm, dir + "/crm.db");
  if (booking_port == 0 || crm_port == 0) {
    std::cerr << "refbackends did not start\n";
    return 1;
  }
  const std::string config = WriteDsardConfig(s, dir, booking_port, crm_port, svc_hash, dpo_hash);
  Child dsard({s.dsard, "--config", config}, dir + "/dsard.log");
  const int port = dsard.AwaitReady();
  if (port == 0) {
    std::cerr << "dsard did not start\n";
    return 1;
  }
  const int64_t rss_ready = ProcStatusKb(dsard.pid(), "VmRSS");
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto stub = dsar::v1::PrivacyRequestService::NewStub(channel);

  struct Call {
    std::unique_ptr<grpc::ClientContext> ctx;
    dsar::v1::CreatePrivacyRequestRequest request;
    dsar::v1::CreatePrivacyRequestResponse response;
    absl::Time sent;
    absl::Duration took;
    bool ok = false;
  };
  std::vector<Call> calls(requests);
  absl::Mutex mu;
  int answered = 0;
  const absl::Time t0 = absl::Now();
  for (int i = 0; i < requests; ++i) {
    Call& c = calls[i];
    c.ctx = Context(kServiceToken);
    c.request = AccessRequest(1 + (i % s.people));
    c.sent = absl::Now();
    stub->async()->CreatePrivacyRequest(
        c.ctx.get(), &c.request, &c.response, [&c, &mu, &answered](grpc::Status status) {
          c.took = absl::Now() - c.sent;
          c.ok = status.ok();
          if (!status.ok()) {
            std::cerr << "create: " << status.error_message() << "\n";
          }
          absl::MutexLock lock(&mu);
          ++answered;
        });
  }
  {
    absl::MutexLock lock(&mu);
    auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return answered == requests; };
    mu.Await(absl::Condition(&all));
  }
  const absl::Time all_filed = absl::Now();
  int filed = 0;
  std::vector<int64_t> create_us;
  for (const auto& c : calls) {
    filed += c.ok;
    create_us.push_back(absl::ToInt64Microseconds(c.took));
  }
  const bool finished = dsard.AwaitCompletions(filed, absl::Minutes(15));
  const absl::Time last = dsard.last_completion();
  const int64_t hwm = ProcStatusKb(dsard.pid(), "VmHWM");
  std::vector<int64_t> ms = dsard.completed_ms();
  dsard.Stop(SIGTERM);
  const double seconds = absl::ToDoubleSeconds(last - t0);
  std::cout << absl::StrFormat(
      "throughput: %d ACCESS requests sent at once over 2 refbackends x %d people "
      "(connector max_concurrency %d): %d filed in %.2f s (create p50 %.1f ms, p99 %.1f ms); "
      "%zu completed in %.2f s = %.1f requests/s; receipt->completion p50 %lld ms, p99 %lld ms, "
      "max %lld ms; dsard RSS at ready %.1f MiB, peak %.1f MiB%s\n",
      requests, s.people, s.concurrency, filed, absl::ToDoubleSeconds(all_filed - t0),
      Percentile(create_us, 0.5) / 1000.0, Percentile(create_us, 0.99) / 1000.0, ms.size(), seconds,
      ms.size() / seconds, static_cast<long long>(Percentile(ms, 0.5)),
      static_cast<long long>(Percentile(ms, 0.99)), static_cast<long long>(Percentile(ms, 1.0)),
      rss_ready / 1024.0, hwm / 1024.0, finished ? "" : " (TIMED OUT)");
  return finished ? 0 : 1;
}

int HeavyExport(const Setup& s, int records, const std::string& svc_hash,
                const std::string& dpo_hash) {
  const std::string dir = s.dir + "/heavy";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::unique_ptr<Child> booking, crm;
  const std::string booking_db = dir + "/booking.db";
  if (StartBackendInfo(s, "booking", 100, &booking, booking_db) == 0) return 1;
  booking->Stop(SIGTERM);
  {
    // Person 1 gets `records` more bookings (synthetic content).
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
  }
  const int booking_port = StartBackendInfo(s, "booking", 100, &booking, booking_db);
  const int crm_port = StartBackendInfo(s, "crm", 100, &crm, dir + "/crm.db");
  if (booking_port == 0 || crm_port == 0) return 1;
  const std::string config = WriteDsardConfig(s, dir, booking_port, crm_port, svc_hash, dpo_hash);
  Child dsard({s.dsard, "--config", config}, dir + "/dsard.log");
  const int port = dsard.AwaitReady();
  if (port == 0) return 1;
  const int64_t rss_ready = ProcStatusKb(dsard.pid(), "VmRSS");
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto stub = dsar::v1::PrivacyRequestService::NewStub(channel);
  const absl::Time t0 = absl::Now();
  dsar::v1::CreatePrivacyRequestResponse created;
  auto ctx = Context(kServiceToken);
  grpc::Status status = stub->CreatePrivacyRequest(ctx.get(), AccessRequest(1), &created);
  if (!status.ok()) {
    std::cerr << "create: " << status.error_message() << "\n";
    return 1;
  }
  if (!dsard.AwaitCompletions(1, absl::Minutes(15))) {
    std::cerr << "export did not complete\n";
    return 1;
  }
  const absl::Time completed = dsard.last_completion();
  const int64_t hwm_after_build = ProcStatusKb(dsard.pid(), "VmHWM");
  dsar::v1::DownloadExportRequest download;
  download.set_name(created.privacy_request().name());
  download.set_recipient(dsar::v1::DISCLOSURE_RECIPIENT_DATA_SUBJECT);
  auto dctx = Context(kDpoToken);
  const absl::Time d0 = absl::Now();
  auto reader = stub->DownloadExport(dctx.get(), download);
  dsar::v1::DownloadExportResponse message;
  int64_t bytes = 0, total_records = 0;
  while (reader->Read(&message)) {
    if (message.has_digest()) {
      total_records = message.digest().record_count();
    } else {
      bytes += static_cast<int64_t>(message.chunk().size());
    }
  }
  status = reader->Finish();
  const absl::Duration download_took = absl::Now() - d0;
  const int64_t hwm = ProcStatusKb(dsard.pid(), "VmHWM");
  dsard.Stop(SIGTERM);
  std::cout << absl::StrFormat(
      "heavy export: one person with %d extra booking rows: %lld records, %.1f MiB JSON; "
      "completed %.2f s after filing; download %.2f s (%.1f MiB/s)%s; dsard RSS at ready "
      "%.1f MiB, peak after build %.1f MiB, peak after download %.1f MiB: growth %.1f MiB\n",
      records, static_cast<long long>(total_records), bytes / 1048576.0,
      absl::ToDoubleSeconds(completed - t0), absl::ToDoubleSeconds(download_took),
      bytes / 1048576.0 / absl::ToDoubleSeconds(download_took),
      status.ok() ? "" : " (DOWNLOAD FAILED)", rss_ready / 1024.0, hwm_after_build / 1024.0,
      hwm / 1024.0, (hwm - rss_ready) / 1024.0);
  return status.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"privacy_request_bench"};
  Setup s;
  int requests = 1000, heavy_records = 100000;
  std::string only;
  app.add_option("--dir", s.dir, "Work directory (replaced)")->required();
  app.add_option("--dsard", s.dsard, "Path of the dsard binary")->required();
  app.add_option("--refbackend", s.refbackend, "Path of the refbackend binary")->required();
  app.add_option("--people", s.people, "Synthetic people per backend (phase 1)");
  app.add_option("--requests", requests, "Concurrent ACCESS requests (phase 1)");
  app.add_option("--concurrency", s.concurrency, "Connector max_concurrency");
  app.add_option("--heavy-records", heavy_records, "Extra records of one person (phase 2)");
  app.add_option("--only", only, "throughput or heavy");
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) return 1;
  const std::string svc = Sha256Hex(kServiceToken), dpo = Sha256Hex(kDpoToken);
  int rc = 0;
  if (only.empty() || only == "throughput") rc |= Throughput(s, requests, svc, dpo);
  if (only.empty() || only == "heavy") rc |= HeavyExport(s, heavy_records, svc, dpo);
  return rc;
}
