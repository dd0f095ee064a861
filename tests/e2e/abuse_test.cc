// The abuse suite (issue 24 part 7): a real dsard process on 127.0.0.1,
// attacked as a hostile caller or an unlucky machine would, each test bounded
// in calls and time. Each checks that no acknowledged write is lost, that
// other principals are served meanwhile, and that memory stays bounded.
// Loopback only; nothing leaves the machine.
#include <SQLiteCpp/Database.h>
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "dsar/v1/audit.grpc.pb.h"
#include "dsar/v1/consent.grpc.pb.h"
#include "dsar/v1/deadline.grpc.pb.h"
#include "services/call_gate.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace dsar {
namespace {

using ::dsar::testing::ChildProcess;

constexpr char kServiceToken[] = "abuse-token-service";
constexpr char kDpoToken[] = "abuse-token-dpo";
constexpr char kAuditorToken[] = "abuse-token-auditor";

// Resident memory of `pid` in MiB (VmRSS), 0 when unreadable.
int64_t RssMib(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      int64_t kib = 0;
      fields >> kib;
      return kib / 1024;
    }
  }
  return 0;
}

// A dsard process with a tenant, a service, a DPO and an auditor.
class Daemon {
 public:
  Daemon(const std::string& dir, const std::string& data_dir, const std::string& extra = "") {
    std::ofstream(dir + "/subject.key") << "0123456789abcdef0123456789abcdef-test-only-key";
    auto principal = [](const char* name, const char* role, const char* token) {
      return absl::StrCat("principals { name: \"", name, "\" role: \"", role,
                          "\" tenant: \"acme-travel\" token_sha256: \"", CallGate::TokenHash(token),
                          "\" }\n");
    };
    std::ofstream(dir + "/dsard.textproto") << absl::StrCat(
        "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\nshutdown_grace_ms: 2000\n",
        "admin_listen_address: \"127.0.0.1:0\"\n", "database_path: \"", data_dir,
        "/dsar.db\"\nsubject_key_file: \"", dir, "/subject.key\"\n",
        "tenants { id: \"acme-travel\" purposes { name: \"marketing\" "
        "current_notice_version: \"v1\" } }\n",
        principal("svc-booking", "service", kServiceToken), principal("dpo-acme", "dpo", kDpoToken),
        principal("auditor-acme", "auditor", kAuditorToken), extra);
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{DSARD_PATH, "--config", dir + "/dsard.textproto"});
    auto admin = process_->WaitForLine("\"event\":\"admin_listening\"");
    auto ready = admin ? process_->WaitForLine("\"event\":\"ready\"") : std::nullopt;
    if (admin && ready) {
      admin_port_ = nlohmann::json::parse(*admin).value("port", 0);
      port_ = nlohmann::json::parse(*ready).value("port", 0);
    }
  }
  ~Daemon() { Stop(); }

  // SIGTERM and the exit code (0: a clean stop).
  int Stop() {
    if (!process_) return -1;
    process_->Signal(SIGTERM);
    const int code = process_->Wait();
    exit_code_ = code;
    process_.reset();
    return code;
  }

  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  std::string output() const { return process_ ? process_->output() : ""; }

  // A channel of its own (its own TCP connection).
  std::shared_ptr<grpc::Channel> Channel(int connection = 0) const {
    grpc::ChannelArguments args;
    args.SetInt("dsar.test.connection", connection);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_),
                                     grpc::InsecureChannelCredentials(), args);
  }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
  int admin_port_ = 0;
  int exit_code_ = -1;
};

std::unique_ptr<grpc::ClientContext> Context(const char* token, int seconds = 10) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (token != nullptr) ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return ctx;
}

v1::RecordConsentRequest Consent(const std::string& id) {
  v1::RecordConsentRequest r;
  r.set_request_id(id);
  r.mutable_subject()->set_type(v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID);
  r.mutable_subject()->set_value("cust-" + id);
  r.set_purpose("marketing");
  r.set_notice_version("v1");
  r.set_language("en");
  r.set_lawful_basis(v1::LAWFUL_BASIS_CONSENT);
  r.set_channel("web");
  return r;
}

// Authenticated writes on a thread of their own until stopped; every
// acknowledged request id is kept.
class Writer {
 public:
  Writer(std::shared_ptr<grpc::Channel> channel, std::string prefix)
      : thread_([this, channel, prefix] {
          auto stub = v1::ConsentService::NewStub(channel);
          for (int i = 0; !stop_.load(); ++i) {
            const std::string id = absl::StrCat(prefix, "-", i);
            v1::RecordConsentResponse response;
            grpc::Status s =
                stub->RecordConsent(Context(kServiceToken).get(), Consent(id), &response);
            absl::MutexLock lock(&mu_);
            if (s.ok()) {
              acked_.push_back(id);
            } else {
              failures_.push_back(absl::StrCat(s.error_code(), " ", s.error_message()));
            }
          }
        }) {}
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> acked() const {
    absl::MutexLock lock(&mu_);
    return acked_;
  }
  std::vector<std::string> failures() const {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

 private:
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  std::vector<std::string> acked_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Every acknowledged request id has its consent event in the database.
void ExpectAllStored(const std::string& db_path, const std::vector<std::string>& acked) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  std::set<std::string> stored;
  SQLite::Statement q(db, "SELECT request_id FROM consent_events WHERE request_id IS NOT NULL");
  while (q.executeStep()) stored.insert(q.getColumn(0).getString());
  int missing = 0;
  for (const auto& id : acked) missing += stored.count(id) == 0;
  EXPECT_EQ(missing, 0) << "of " << acked.size() << " acknowledged writes";
}

class AbuseTest : public ::testing::Test {
 protected:
  ::dsar::testing::TempDir dir_;
};

TEST_F(AbuseTest, UnauthenticatedFloodDuringAuthenticatedWrites) {
  Daemon dsard(dir_.path(), dir_.path());
  ASSERT_GT(dsard.port(), 0) << dsard.output();
  Writer writer(dsard.Channel(1), "flood");
  // 100,000 calls without a valid token, 256 at a time over 4 connections.
  constexpr int kFlood = 100000;
  std::atomic<int> unauthenticated{0}, other{0};
  std::vector<std::thread> flooders;
  const absl::Time started = absl::Now();
  for (int t = 0; t < 4; ++t) {
    flooders.emplace_back([&, t] {
      grpc::GenericStub stub(dsard.Channel(10 + t));
      const std::string bytes = Consent("x").SerializeAsString();
      absl::Mutex mu;
      int outstanding = 0;
      for (int i = 0; i < kFlood / 4; ++i) {
        {
          absl::MutexLock lock(&mu);
          mu.Await(absl::Condition(
              +[](int* n) { return *n < 64; }, &outstanding));
          ++outstanding;
        }
        auto* ctx = new grpc::ClientContext();
        if (i % 2) ctx->AddMetadata("authorization", "Bearer not-a-token");
        ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        grpc::Slice slice(bytes);
        auto* request = new grpc::ByteBuffer(&slice, 1);
        auto* response = new grpc::ByteBuffer();
        stub.UnaryCall(
            ctx, "/dsar.v1.ConsentService/RecordConsent", grpc::StubOptions(), request, response,
            [&, ctx, request, response](grpc::Status s) {
              (s.error_code() == grpc::StatusCode::UNAUTHENTICATED ? unauthenticated : other)++;
              delete ctx;
              delete request;
              delete response;
              absl::MutexLock lock(&mu);
              --outstanding;
            });
      }
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](int* n) { return *n == 0; }, &outstanding));
    });
  }
  for (auto& t : flooders) t.join();
  const absl::Duration took = absl::Now() - started;
  writer.Stop();
  const int64_t rss = RssMib(dsard.pid());
  EXPECT_EQ(unauthenticated.load(), kFlood);
  EXPECT_EQ(other.load(), 0);
  EXPECT_THAT(writer.failures(), ::testing::IsEmpty());
  EXPECT_GT(writer.acked().size(), 0u);
  EXPECT_LT(rss, 512) << "MiB resident after the flood";
  ASSERT_EQ(dsard.Stop(), 0);  // writes the last window's refusal rows
  SQLite::Database db(dir_.File("dsar.db"), SQLite::OPEN_READONLY);
  const int64_t rows =
      db.execAndGet("SELECT count(*) FROM audit_events WHERE principal = 'unauthenticated'")
          .getInt64();
  const int64_t counted =
      db.execAndGet("SELECT sum(count) FROM audit_events WHERE principal = 'unauthenticated'")
          .getInt64();
  EXPECT_LE(rows, 1000);
  EXPECT_EQ(counted, kFlood);
  ExpectAllStored(dir_.File("dsar.db"), writer.acked());
  std::cout << "flood: " << kFlood << " unauthenticated calls in " << took << ", " << rows
            << " audit rows, " << writer.acked().size() << " RecordConsent acknowledged, rss "
            << rss << " MiB\n";
}

// How the WatchAlerts streams of a test ended.
struct StreamTally {
  absl::Mutex mu;
  int done ABSL_GUARDED_BY(mu) = 0;
  int refused ABSL_GUARDED_BY(mu) = 0;  // RESOURCE_EXHAUSTED
  // Waits (bounded) until `n` streams were refused; returns whether they were.
  bool WaitRefused(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return refused >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  bool WaitDone(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return done >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
};

// A WatchAlerts stream opened through the callback API.
class Watch : public grpc::ClientReadReactor<v1::WatchAlertsResponse> {
 public:
  Watch(v1::DeadlineService::Stub* stub, const char* token, StreamTally* tally)
      : ctx_(Context(token, 120)), tally_(tally) {
    stub->async()->WatchAlerts(ctx_.get(), &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (ok) StartRead(&response_);
  }
  void OnDone(const grpc::Status& s) override {
    absl::MutexLock lock(&tally_->mu);
    ++tally_->done;
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++tally_->refused;
  }
  void Cancel() { ctx_->TryCancel(); }

 private:
  std::unique_ptr<grpc::ClientContext> ctx_;
  StreamTally* tally_;
  v1::WatchAlertsRequest request_;
  v1::WatchAlertsResponse response_;
};

TEST_F(AbuseTest, TwoThousandStreamsOfOnePrincipalLeaveTheOthersServed) {
  Daemon dsard(dir_.path(), dir_.path());
  ASSERT_GT(dsard.port(), 0) << dsard.output();
  constexpr int kStreams = 2000;
  constexpr int kOwnLimit = 8;  // limits.per_principal_max_open_streams' default
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::DeadlineService::Stub>> stubs;
  for (int c = 0; c < 20; ++c) {
    channels.push_back(dsard.Channel(100 + c));
    stubs.push_back(v1::DeadlineService::NewStub(channels.back()));
  }
  StreamTally auditor;
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < kStreams; ++i) {
    watches.push_back(
        std::make_unique<Watch>(stubs[i % stubs.size()].get(), kAuditorToken, &auditor));
  }
  // The principal's limit holds; the rest are refused at once.
  EXPECT_TRUE(auditor.WaitRefused(kStreams - kOwnLimit, absl::Seconds(60)));
  // Meanwhile the DPO and the service are served.
  auto consent = v1::ConsentService::NewStub(dsard.Channel(1));
  std::vector<std::string> acked;
  for (int i = 0; i < 50; ++i) {
    const std::string id = absl::StrCat("streams-", i);
    v1::RecordConsentResponse response;
    grpc::Status s = consent->RecordConsent(Context(kServiceToken).get(), Consent(id), &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (s.ok()) acked.push_back(id);
  }
  auto deadlines = v1::DeadlineService::NewStub(dsard.Channel(2));
  v1::ListDeadlinesResponse listed;
  EXPECT_TRUE(deadlines->ListDeadlines(Context(kDpoToken).get(), {}, &listed).ok());
  StreamTally dpo;
  Watch dpo_watch(deadlines.get(), kDpoToken, &dpo);
  EXPECT_FALSE(dpo.WaitDone(1, absl::Milliseconds(300)));  // open, not refused
  {
    absl::MutexLock lock(&auditor.mu);
    EXPECT_EQ(auditor.refused, kStreams - kOwnLimit);
    EXPECT_EQ(auditor.done, kStreams - kOwnLimit);  // the admitted ones are still open
  }
  const int64_t rss = RssMib(dsard.pid());
  EXPECT_LT(rss, 512);
  dpo_watch.Cancel();
  for (auto& w : watches) w->Cancel();
  EXPECT_TRUE(auditor.WaitDone(kStreams, absl::Seconds(30)));
  EXPECT_TRUE(dpo.WaitDone(1, absl::Seconds(30)));
  ASSERT_EQ(dsard.Stop(), 0);
  ExpectAllStored(dir_.File("dsar.db"), acked);
  std::cout << "streams: " << kStreams << " opened by one principal, " << kStreams - kOwnLimit
            << " refused, rss " << rss << " MiB\n";
}

TEST_F(AbuseTest, RapidResetOfManyShortLivedStreamsLeavesTheOthersServed) {
  Daemon dsard(dir_.path(), dir_.path());
  ASSERT_GT(dsard.port(), 0) << dsard.output();
  Writer writer(dsard.Channel(1), "reset");
  // Calls started and cancelled at once (HEADERS then RST_STREAM), 20,000 of
  // them over 4 connections, as fast as the client can, by the DPO while the
  // service writes.
  constexpr int kResets = 20000;
  std::atomic<int> finished{0};
  std::vector<std::thread> resetters;
  for (int t = 0; t < 4; ++t) {
    resetters.emplace_back([&, t] {
      auto stub = v1::ConsentService::NewStub(dsard.Channel(20 + t));
      absl::Mutex mu;
      int outstanding = 0;
      for (int i = 0; i < kResets / 4; ++i) {
        {
          absl::MutexLock lock(&mu);
          mu.Await(absl::Condition(
              +[](int* n) { return *n < 64; }, &outstanding));
          ++outstanding;
        }
        auto ctx = std::shared_ptr<grpc::ClientContext>(Context(kDpoToken, 30));
        auto request = std::make_shared<v1::RecordConsentRequest>(Consent("reset"));
        auto response = std::make_shared<v1::RecordConsentResponse>();
        stub->async()->RecordConsent(ctx.get(), request.get(), response.get(),
                                     [&, ctx, request, response](grpc::Status) {
                                       ++finished;
                                       absl::MutexLock lock(&mu);
                                       --outstanding;
                                     });
        ctx->TryCancel();
      }
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](int* n) { return *n == 0; }, &outstanding));
    });
  }
  for (auto& t : resetters) t.join();
  EXPECT_EQ(finished.load(), kResets);
  // Still serving the others, in bounded memory.
  v1::ListDeadlinesResponse listed;
  EXPECT_TRUE(v1::DeadlineService::NewStub(dsard.Channel(2))
                  ->ListDeadlines(Context(kAuditorToken).get(), {}, &listed)
                  .ok());
  writer.Stop();
  EXPECT_THAT(writer.failures(), ::testing::IsEmpty());
  EXPECT_GT(writer.acked().size(), 0u);
  EXPECT_LT(RssMib(dsard.pid()), 512);
  ASSERT_EQ(dsard.Stop(), 0);
  ExpectAllStored(dir_.File("dsar.db"), writer.acked());
}

// A TCP connection to 127.0.0.1:`port` whose reads give up after
// `read_seconds`; -1 on failure.
int Connect(int port, int read_seconds = 5) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  timeval timeout{read_seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// GET `path` on a fresh connection: the status line, or "" on failure.
std::string Get(int port, const std::string& path) {
  int fd = Connect(port, /*read_seconds=*/20);  // the bound is the test's own
  if (fd < 0) return "";
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  (void)!write(fd, request.data(), request.size());
  char buf[256];
  const ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0) return "";
  std::string reply(buf, static_cast<size_t>(n));
  return reply.substr(0, reply.find("\r\n"));
}

TEST_F(AbuseTest, SlowClientsOnTheAdminPortDoNotStarveItsProbes) {
  Daemon dsard(dir_.path(), dir_.path());
  ASSERT_GT(dsard.admin_port(), 0) << dsard.output();
  // 64 clients send half a request and then nothing.
  std::vector<int> slow;
  for (int i = 0; i < 64; ++i) {
    int fd = Connect(dsard.admin_port());
    ASSERT_GE(fd, 0);
    const std::string half = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    (void)!write(fd, half.data(), half.size());
    slow.push_back(fd);
  }
  const absl::Time asked = absl::Now();
  EXPECT_EQ(Get(dsard.admin_port(), "/healthz"), "HTTP/1.1 200 OK");
  const absl::Duration waited = absl::Now() - asked;
  EXPECT_LT(waited, absl::Seconds(10));
  // The slow ones are dropped by the server, not kept for ever.
  int closed = 0;
  for (int fd : slow) {
    char buf[64];
    if (read(fd, buf, sizeof buf) >= 0) ++closed;  // EOF or an error answer
    close(fd);
  }
  EXPECT_EQ(closed, 64);
  // gRPC was never affected.
  v1::ListDeadlinesResponse listed;
  EXPECT_TRUE(v1::DeadlineService::NewStub(dsard.Channel(2))
                  ->ListDeadlines(Context(kDpoToken).get(), {}, &listed)
                  .ok());
  std::cout << "admin: /healthz answered " << waited << " after 64 slow clients\n";
  EXPECT_EQ(dsard.Stop(), 0);
}

TEST_F(AbuseTest, AFullDiskAnswersUnavailableLosesNothingAcknowledgedAndRecovers) {
  // The database on a 4 MiB tmpfs of its own (root only: skipped otherwise).
  const std::string mnt = dir_.File("small-disk");
  std::filesystem::create_directories(mnt);
  if (mount("dsar-abuse", mnt.c_str(), "tmpfs", 0, "size=4m,mode=0700") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  Daemon dsard(dir_.path(), mnt);
  ASSERT_GT(dsard.port(), 0) << dsard.output();
  auto consent = v1::ConsentService::NewStub(dsard.Channel(1));
  std::vector<std::string> acked;
  int unavailable = 0;
  std::string message;
  for (int i = 0; i < 100000 && unavailable < 20; ++i) {
    const std::string id = absl::StrCat("disk-", i);
    v1::RecordConsentResponse response;
    grpc::Status s = consent->RecordConsent(Context(kServiceToken).get(), Consent(id), &response);
    if (s.ok()) {
      acked.push_back(id);
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
      ++unavailable;
      message = s.error_message();
    }
  }
  ASSERT_EQ(unavailable, 20) << "the disk never filled";
  EXPECT_THAT(message, ::testing::HasSubstr("full"));
  EXPECT_GT(acked.size(), 100u);
  // Reads go on while the disk is full.
  v1::ListDeadlinesResponse listed;
  EXPECT_TRUE(v1::DeadlineService::NewStub(dsard.Channel(2))
                  ->ListDeadlines(Context(kDpoToken).get(), {}, &listed)
                  .ok());
  // Space returns: the same process takes writes again, by itself.
  ASSERT_EQ(mount("dsar-abuse", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=64m,mode=0700"), 0)
      << std::strerror(errno);
  int after = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string id = absl::StrCat("after-", i);
    v1::RecordConsentResponse response;
    grpc::Status s = consent->RecordConsent(Context(kServiceToken).get(), Consent(id), &response);
    if (s.ok()) {
      acked.push_back(id);
      ++after;
    }
  }
  EXPECT_EQ(after, 200);
  v1::VerifyAuditLogResponse verified;
  ASSERT_TRUE(v1::AuditService::NewStub(dsard.Channel(3))
                  ->VerifyAuditLog(Context(kDpoToken).get(), {}, &verified)
                  .ok());
  EXPECT_TRUE(verified.intact()) << verified.reason();
  ASSERT_EQ(dsard.Stop(), 0);
  ExpectAllStored(mnt + "/dsar.db", acked);
  std::cout << "full disk: " << acked.size() - after << " writes acknowledged before it filled, "
            << unavailable << " answered UNAVAILABLE (\"" << message << "\"), " << after
            << " after space returned\n";
}

}  // namespace
}  // namespace dsar
