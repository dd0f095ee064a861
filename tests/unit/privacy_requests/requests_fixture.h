// Shared fixture for lib/privacy_requests unit tests: the module's RequestEnv over a
// real Store on a temporary SQLite file, a FakeClock, the deadline engine,
// keys made for the test and a registry of two synthetic connectors (no
// outbox: requests get no connector tasks, so an access request goes
// straight to its bundle and an erasure straight to completion). Blocking
// wrappers around PrivacyRequests' callback API. Synthetic data only.
#ifndef DSAR_TESTS_UNIT_REQUESTS_REQUESTS_FIXTURE_H_
#define DSAR_TESTS_UNIT_REQUESTS_REQUESTS_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/connector/payload.h"
#include "lib/connector/registry.h"
#include "lib/consent/subject_keyer.h"
#include "lib/core/call_context.h"
#include "lib/core/clock.h"
#include "lib/deadline/deadlines.h"
#include "lib/privacy_requests/export_crypto.h"
#include "lib/privacy_requests/privacy_requests.h"
#include "lib/privacy_requests/request_env.h"
#include "lib/privacy_requests/request_worker.h"
#include "lib/store/store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace dsar::privacy_requests::testing {

inline constexpr char kTenant[] = "tenant-a";

inline connector::ConnectorInfo SyntheticConnector(const std::string& name) {
  connector::ConnectorInfo c;
  c.name = name;
  c.kinds = {connector::TaskKind::kSubjectExport, connector::TaskKind::kSubjectErase};
  c.display_name = absl::StrCat("System ", name, " (synthetic)");
  c.categories = {"contact"};
  c.country = "SE";
  return c;
}

class RequestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions options;
    options.path = dir_.File("dsar.db");
    auto s = store::Store::Open(options);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    auto d = deadline::Deadlines::Create(deadline::DeadlineOptions{});
    ASSERT_TRUE(d.ok()) << d.status();
    deadlines_ = std::move(*d);
    auto keyer = consent::SubjectKeyer::FromKey(std::string(32, 'k'));
    ASSERT_TRUE(keyer.ok()) << keyer.status();
    keyer_ = std::move(*keyer);
    auto sealer = connector::PayloadSealer::FromSecret(std::string(32, 's'));
    ASSERT_TRUE(sealer.ok()) << sealer.status();
    sealer_ = std::move(*sealer);
    auto wrapper = KeyWrapper::FromSecret(std::string(32, 'w'));
    ASSERT_TRUE(wrapper.ok()) << wrapper.status();
    wrapper_ = std::move(*wrapper);
    registry_ =
        std::make_unique<connector::ConnectorRegistry>(std::vector<connector::ConnectorInfo>{
            SyntheticConnector("booking"), SyntheticConnector("crm")});
    env_.store = store_.get();
    env_.clock = &clock_;
    env_.deadlines = deadlines_.get();
    env_.keyer = keyer_.get();
    env_.sealer = sealer_.get();
    env_.key_wrapper = wrapper_.get();
    env_.registry = registry_.get();
    env_.options.export_dir = dir_.File("exports");
    requests_ = std::make_unique<PrivacyRequests>(&env_);
    worker_ = std::make_unique<RequestWorker>(&env_);
  }

  void TearDown() override {
    worker_.reset();
    requests_.reset();
    if (store_) store_->Close();
  }

  CallContext Dpo(const std::string& tenant = kTenant) {
    CallContext ctx;
    ctx.principal = "tenant-dpo";
    ctx.role = Role::kDpo;
    ctx.tenant = tenant;
    ctx.idempotency_key = IdempotencyKey(absl::StrCat("call-", ++call_seq_));
    ctx.method = "/dsar.v1.PrivacyRequestService/Test";
    return ctx;
  }

  static Verification Verified() {
    return Verification{VerificationMethod::kKnownContactChannel, "synthetic check", "",
                        absl::InfinitePast()};
  }

  // A request for the synthetic person `n` (an e-mail address under
  // example.invalid), optionally already verified.
  absl::StatusOr<Created> File(RequestType type, int n = 1, bool verified = false) {
    CreateInput in;
    in.type = type;
    in.identifiers = {{IdentifierType::kEmail, absl::StrCat("person-", n, "@example.invalid")}};
    in.requester.relation = RequesterRelation::kDataSubject;
    in.requester.channel = "web-form";
    if (verified) in.verification = Verified();
    return Create(Dpo(), std::move(in));
  }

  absl::StatusOr<Created> Create(const CallContext& ctx, CreateInput in) {
    std::promise<absl::StatusOr<Created>> p;
    requests_->Create(ctx, std::move(in),
                      [&p](absl::StatusOr<Created> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  absl::StatusOr<PrivacyRequest> Verify(const std::string& id) {
    std::promise<absl::StatusOr<PrivacyRequest>> p;
    requests_->Verify(Dpo(), id, Verified(),
                      [&p](absl::StatusOr<PrivacyRequest> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  absl::StatusOr<PrivacyRequest> Reject(const std::string& id) {
    std::promise<absl::StatusOr<PrivacyRequest>> p;
    requests_->Reject(Dpo(), id, RejectionReason::kIdentityNotVerified, "synthetic",
                      [&p](absl::StatusOr<PrivacyRequest> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  absl::StatusOr<PrivacyRequest> Cancel(const std::string& id) {
    std::promise<absl::StatusOr<PrivacyRequest>> p;
    requests_->Cancel(Dpo(), id, "synthetic",
                      [&p](absl::StatusOr<PrivacyRequest> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  absl::StatusOr<std::unique_ptr<ExportDownload>> Download(const std::string& id) {
    std::promise<absl::StatusOr<std::unique_ptr<ExportDownload>>> p;
    DownloadInput in;
    in.request_id = id;
    in.recipient = DisclosureRecipient::kDataSubject;
    requests_->Download(
        Dpo(), std::move(in),
        [&p](absl::StatusOr<std::unique_ptr<ExportDownload>> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  absl::StatusOr<PrivacyRequest> Get(const std::string& id) { return requests_->Get(Dpo(), id); }

  ::dsar::testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1767225600)};  // 2026-01-01T00:00:00Z
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<deadline::Deadlines> deadlines_;
  std::unique_ptr<consent::SubjectKeyer> keyer_;
  std::unique_ptr<connector::PayloadSealer> sealer_;
  std::unique_ptr<KeyWrapper> wrapper_;
  std::unique_ptr<connector::ConnectorRegistry> registry_;
  RequestEnv env_;
  std::unique_ptr<PrivacyRequests> requests_;
  std::unique_ptr<RequestWorker> worker_;
  int call_seq_ = 0;
};

}  // namespace dsar::privacy_requests::testing

#endif  // DSAR_TESTS_UNIT_REQUESTS_REQUESTS_FIXTURE_H_
