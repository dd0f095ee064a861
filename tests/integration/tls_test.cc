// TLS and mutual TLS on the real server, with a throw-away PKI.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "dsar/v1/audit.grpc.pb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_dsard.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::TestDsard;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TlsTest : public ::testing::Test {
 protected:
  void StartServer(bool require_client_cert) {
    certs_ = std::make_unique<::dsar::testing::TempDir>();
    ASSERT_EQ(std::system(absl::StrCat(MAKE_TEST_CERTS, " ", certs_->path()).c_str()), 0);
    std::string tls = absl::StrCat(
        "tls { cert_file: \"", certs_->File("server.pem"), "\" key_file: \"",
        certs_->File("server.key"), "\" client_ca_file: \"", certs_->File("ca.pem"),
        "\" require_client_cert: ", require_client_cert ? "true" : "false", " }\n",
        // A principal authenticated by its client certificate alone.
        "principals { name: \"svc-booking-mtls\" role: \"auditor\" tenant: \"acme-travel\" "
        "client_cert_identity: \"svc-booking.mtls.invalid\" }\n");
    dsard_ = std::make_unique<TestDsard>(tls, /*plaintext=*/false);
    ASSERT_THAT(dsard_->Start(), IsOk());
    address_ = absl::StrCat("localhost:", dsard_->daemon().port());
  }

  // Calls VerifyAuditLog (auditor-allowed) over `creds`, with `token` if set.
  grpc::StatusCode Call(const std::shared_ptr<grpc::ChannelCredentials>& creds, const char* token) {
    auto stub = v1::AuditService::NewStub(grpc::CreateChannel(address_, creds));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (token != nullptr) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    v1::VerifyAuditLogResponse response;
    return stub->VerifyAuditLog(&ctx, {}, &response).error_code();
  }

  std::shared_ptr<grpc::ChannelCredentials> Tls(const char* client = nullptr) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Slurp(certs_->File("ca.pem"));
    if (client != nullptr) {
      options.pem_cert_chain = Slurp(certs_->File(absl::StrCat(client, ".pem")));
      options.pem_private_key = Slurp(certs_->File(absl::StrCat(client, ".key")));
    }
    return grpc::SslCredentials(options);
  }

  std::unique_ptr<::dsar::testing::TempDir> certs_;
  std::unique_ptr<TestDsard> dsard_;
  std::string address_;
};

TEST_F(TlsTest, PlaintextClientCannotTalkToATlsServer) {
  StartServer(/*require_client_cert=*/false);
  EXPECT_EQ(Call(grpc::InsecureChannelCredentials(), testing::kAuditorToken),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Call(Tls(), testing::kAuditorToken), grpc::StatusCode::OK);
  // TLS without a token or client certificate is still unauthenticated.
  EXPECT_EQ(Call(Tls(), nullptr), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(TlsTest, MutualTlsRefusesClientsWithoutATrustedCertificate) {
  StartServer(/*require_client_cert=*/true);
  EXPECT_EQ(Call(Tls(), testing::kAuditorToken), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Call(Tls("rogue"), nullptr), grpc::StatusCode::UNAVAILABLE);
  // A trusted client certificate authenticates its principal without a token.
  EXPECT_EQ(Call(Tls("client"), nullptr), grpc::StatusCode::OK);
  // And a token still works over mTLS.
  EXPECT_EQ(Call(Tls("client"), testing::kAuditorToken), grpc::StatusCode::OK);
}

}  // namespace
}  // namespace dsar
