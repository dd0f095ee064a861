// Status-callback URLs through the real gRPC API (dsard in-process on
// 127.0.0.1:0): every hostile URL of tests/testing/hostile_urls.h is refused
// by CreatePrivacyRequest with INVALID_ARGUMENT and a BadRequest field
// violation on status_callback_url naming why; a tenant's callback_hosts
// allowlist holds only for that tenant. Nothing here resolves a name.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "dsar/v1/privacy_request.grpc.pb.h"
#include "lib/core/errors.h"
#include "services/grpc_status.h"
#include "tests/testing/hostile_urls.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_dsard.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::dsar::testing::TestDsard;
using ::testing::ElementsAre;
using ::testing::FieldsAre;
using ::testing::HasSubstr;

class CallbackUrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.File("callback.secret")) << "callback-secret-for-tests-only";
    dsard_ = std::make_unique<TestDsard>(absl::StrCat(
        "outbound { allowed_cidrs: \"127.0.0.0/8\" allowed_cidrs: \"::1/128\" }\n",
        "requests { callback_secret_file: \"", dir_.File("callback.secret"), "\" }\n"));
    // acme-travel's callbacks may go to 127.0.0.1 only; other-tenant has no list.
    dsard_->set_acme_tenant_extra("callback_hosts: \"127.0.0.1\"");
    ASSERT_THAT(dsard_->Start(), IsOk());
    stub_ = v1::PrivacyRequestService::NewStub(dsard_->channel());
  }

  absl::Status Create(const std::string& url, const char* token = testing::kServiceToken) {
    v1::CreatePrivacyRequestRequest r;
    r.set_request_id(absl::StrCat("create-", ++counter_));
    r.set_type(v1::PRIVACY_REQUEST_TYPE_ACCESS);
    auto* email = r.add_identifiers();
    email->set_type(v1::SUBJECT_IDENTIFIER_TYPE_EMAIL);
    email->set_value("person-0001@example.invalid");
    r.set_status_callback_url(url);
    v1::CreatePrivacyRequestResponse response;
    auto ctx = TestDsard::Context(token);
    const grpc::Status s = stub_->CreatePrivacyRequest(ctx.get(), r, &response);
    return s.ok() ? absl::OkStatus() : FromGrpcStatus(s);
  }

  testing::TempDir dir_;
  std::unique_ptr<TestDsard> dsard_;
  std::unique_ptr<v1::PrivacyRequestService::Stub> stub_;
  int counter_ = 0;
};

TEST_F(CallbackUrlTest, EveryHostileUrlIsRefusedNamingWhy) {
  for (const testing::HostileUrl& h : testing::HostileUrls()) {
    const absl::Status s = Create(h.url);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << h.url;
    EXPECT_THAT(FieldViolationsOf(s),
                ElementsAre(FieldsAre("status_callback_url", HasSubstr(h.reason))))
        << h.url;
  }
}

TEST_F(CallbackUrlTest, ATenantsCallbackHostsBindOnlyThatTenant) {
  EXPECT_THAT(Create("http://127.0.0.1:9/dsr/status"), IsOk());
  for (const char* url : {"https://hooks.example.com/dsr", "http://[::1]:9/dsr/status"}) {
    const absl::Status s = Create(url);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << url;
    EXPECT_THAT(FieldViolationsOf(s),
                ElementsAre(FieldsAre("status_callback_url",
                                      HasSubstr("is not in this tenant's callback_hosts"))))
        << url;
  }
  // Another tenant's list does not bind other-tenant.
  EXPECT_THAT(Create("http://[::1]:9/dsr/status", testing::kOtherTenantToken), IsOk());
}

}  // namespace
}  // namespace dsar
