// TestDsard: a real dsard (Dsard wiring, real SQLite file, real gRPC server on
// 127.0.0.1:0) in-process, with a FakeClock and two tenants, principals for
// each role, and helpers to make authenticated calls.
#ifndef DSAR_TESTS_TESTING_TEST_DSARD_H_
#define DSAR_TESTS_TESTING_TEST_DSARD_H_

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/core/clock.h"
#include "lib/core/config.h"
#include "services/call_gate.h"
#include "services/dsard.h"
#include "tests/testing/temp_dir.h"

namespace dsar::testing {

// Bearer tokens of the test principals (synthetic secrets).
inline constexpr char kServiceToken[] = "test-token-svc-booking";
inline constexpr char kDpoToken[] = "test-token-dpo";
inline constexpr char kAuditorToken[] = "test-token-auditor";
inline constexpr char kConnectorToken[] = "test-token-connector";
inline constexpr char kOtherTenantToken[] = "test-token-svc-other";
inline constexpr char kAdminToken[] = "test-token-admin";
inline constexpr char kAllTenantsDpoToken[] = "test-token-dpo-all";

class TestDsard {
 public:
  // `extra_config` is appended to the generated text-format config. With
  // `plaintext` false the config must bring its own tls section.
  explicit TestDsard(std::string extra_config = "", bool plaintext = true)
      : extra_config_(std::move(extra_config)), plaintext_(plaintext) {
    std::ofstream(dir_.File("subject.key")) << "0123456789abcdef0123456789abcdef-test-only-key";
  }
  ~TestDsard() { Stop(); }

  std::string ConfigText() const {
    auto principal = [](const char* name, const char* role, const char* tenant, const char* token) {
      return absl::StrCat("principals { name: \"", name, "\" role: \"", role, "\" tenant: \"",
                          tenant, "\" token_sha256: \"", CallGate::TokenHash(token), "\" }\n");
    };
    return absl::StrCat("listen_address: \"127.0.0.1:0\"\nshutdown_grace_ms: 2000\n",
                        plaintext_ ? "insecure_loopback: true\n" : "", "database_path: \"",
                        dir_.File("dsar.db"), "\"\n", "subject_key_file: \"",
                        dir_.File("subject.key"), "\"\n",
                        R"cfg(tenants {
  id: "acme-travel" controller_name: "Acme Travel AB (synthetic)" jurisdiction: "SE"
  contact_email: "dpo@acme-travel.example.invalid" policy_url: "https://acme-travel.example.invalid/privacy"
  purposes { name: "booking" current_notice_version: "2026-03" previous_notice_versions: "2025-01" description: "Handling bookings" }
  purposes { name: "marketing" current_notice_version: "v7" description: "Newsletters and offers" }
)cfg",
                        acme_tenant_extra_, R"cfg(
}
tenants { id: "other-tenant" purposes { name: "marketing" current_notice_version: "v1" } }
)cfg",
                        principal("svc-booking", "service", "acme-travel", kServiceToken),
                        principal("dpo-acme", "dpo", "acme-travel", kDpoToken),
                        principal("auditor-acme", "auditor", "acme-travel", kAuditorToken),
                        principal("connector-crm", "connector", "acme-travel", kConnectorToken),
                        principal("svc-other", "service", "other-tenant", kOtherTenantToken),
                        principal("admin-ops", "admin", "acme-travel", kAdminToken),
                        principal("dpo-all", "dpo", "*", kAllTenantsDpoToken), extra_config_);
  }

  // Text-format fields added to the acme-travel tenant (before Start).
  void set_acme_tenant_extra(std::string fields) { acme_tenant_extra_ = std::move(fields); }

  absl::Status Start() {
    auto config = ParseDsardConfig(ConfigText(), "test-config");
    if (!config.ok()) return config.status();
    auto daemon = Dsard::Start(*config, &clock_);
    if (!daemon.ok()) return daemon.status();
    daemon_ = std::move(*daemon);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", daemon_->port()),
                                   grpc::InsecureChannelCredentials());
    return absl::OkStatus();
  }
  void Stop() {
    if (daemon_) daemon_->Shutdown();
    daemon_.reset();
  }
  absl::Status Restart() {
    Stop();
    return Start();
  }

  // A context carrying `token` and a 10 s deadline.
  static std::unique_ptr<grpc::ClientContext> Context(const char* token = kServiceToken) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  FakeClock& clock() { return clock_; }
  Dsard& daemon() { return *daemon_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  std::string DatabasePath() const { return dir_.File("dsar.db"); }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  std::string extra_config_;
  bool plaintext_;
  FakeClock clock_;
  std::string acme_tenant_extra_;
  std::unique_ptr<Dsard> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_TEST_DSARD_H_
