// SIGHUP on a real dsard process: the same process keeps serving, open
// connections stay, a token added to the config is accepted at once and a
// rotated server certificate is served to new connections.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "dsar/v1/audit.grpc.pb.h"
#include "services/call_gate.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace dsar {
namespace {

using ::dsar::testing::ChildProcess;

constexpr char kOldToken[] = "sighup-old-token";
constexpr char kNewToken[] = "sighup-new-token";

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces `to` by a copy of `from` in one rename, as a rotation should.
void Replace(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to + ".new", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(to + ".new", to);
}

class SighupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(std::system(absl::StrCat(MAKE_TEST_CERTS, " ", certs_.path()).c_str()), 0);
    std::filesystem::create_directories(dir_.File("tls"));
    Replace(certs_.File("server.pem"), dir_.File("tls/server.pem"));
    Replace(certs_.File("server.key"), dir_.File("tls/server.key"));
    std::ofstream(dir_.File("subject.key")) << "0123456789abcdef0123456789abcdef-test-only-key";
  }

  std::string Config(bool with_new_token) {
    auto principal = [](const char* name, const char* token) {
      return absl::StrCat("principals { name: \"", name,
                          "\" role: \"auditor\" tenant: \"acme-travel\" token_sha256: \"",
                          CallGate::TokenHash(token), "\" }\n");
    };
    return absl::StrCat(
        "listen_address: \"127.0.0.1:0\"\nshutdown_grace_ms: 1000\ndatabase_path: \"",
        dir_.File("var/dsar.db"), "\"\nsubject_key_file: \"", dir_.File("subject.key"),
        "\"\ntenants { id: \"acme-travel\" purposes { name: \"marketing\" "
        "current_notice_version: \"v1\" } }\n",
        "tls { cert_file: \"", dir_.File("tls/server.pem"), "\" key_file: \"",
        dir_.File("tls/server.key"), "\" refresh_interval_seconds: 1 }\n",
        principal("auditor-old", kOldToken),
        with_new_token ? principal("auditor-new", kNewToken) : "");
  }
  void WriteConfig(bool with_new_token) {
    std::ofstream(dir_.File("dsard.textproto.new")) << Config(with_new_token);
    std::filesystem::rename(dir_.File("dsard.textproto.new"), dir_.File("dsard.textproto"));
  }

  // A TLS channel to the server as "localhost"; `fresh` forces a connection
  // of its own.
  std::shared_ptr<grpc::Channel> Channel(int port, int fresh) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Slurp(certs_.File("ca.pem"));
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    args.SetInt("dsar.test.connection", fresh);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::SslCredentials(options), args);
  }

  struct Answer {
    grpc::StatusCode code;
    std::string server_subject;
  };
  Answer Call(const std::shared_ptr<grpc::Channel>& channel, const char* token) {
    auto stub = v1::AuditService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    v1::VerifyAuditLogResponse response;
    Answer answer{stub->VerifyAuditLog(&ctx, {}, &response).error_code(), ""};
    if (auto auth = ctx.auth_context()) {
      for (const auto& v : auth->FindPropertyValues("x509_subject")) {
        answer.server_subject = std::string(v.data(), v.size());
      }
    }
    return answer;
  }

  ::dsar::testing::TempDir dir_;
  ::dsar::testing::TempDir certs_;
};

TEST_F(SighupTest, ReloadsTokensAndTheCertificateWithoutDroppingTheProcessOrConnections) {
  WriteConfig(/*with_new_token=*/false);
  ChildProcess dsard({DSARD_PATH, "--config", dir_.File("dsard.textproto")});
  auto ready = dsard.WaitForLine("\"event\":\"ready\"");
  ASSERT_TRUE(ready) << dsard.output();
  const int port = nlohmann::json::parse(*ready).value("port", 0);
  ASSERT_GT(port, 0);

  auto open_channel = Channel(port, 1);
  Answer before = Call(open_channel, kOldToken);
  ASSERT_EQ(before.code, grpc::StatusCode::OK);
  EXPECT_THAT(before.server_subject, ::testing::HasSubstr("CN=localhost"));
  EXPECT_THAT(before.server_subject, ::testing::Not(::testing::HasSubstr("rotated")));
  EXPECT_EQ(Call(open_channel, kNewToken).code, grpc::StatusCode::UNAUTHENTICATED);

  // Rotate: new certificate and key, a new principal; then SIGHUP.
  Replace(certs_.File("server-rotated.key"), dir_.File("tls/server.key"));
  Replace(certs_.File("server-rotated.pem"), dir_.File("tls/server.pem"));
  WriteConfig(/*with_new_token=*/true);
  const pid_t pid = dsard.pid();
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  auto reloaded = dsard.WaitForLine("\"event\":\"config_relo");
  ASSERT_TRUE(reloaded) << dsard.output();
  EXPECT_THAT(*reloaded, ::testing::HasSubstr("config_reloaded"));

  // Same process, same connection, both tokens.
  EXPECT_EQ(kill(pid, 0), 0);
  EXPECT_EQ(Call(open_channel, kNewToken).code, grpc::StatusCode::OK);
  EXPECT_EQ(Call(open_channel, kOldToken).code, grpc::StatusCode::OK);
  EXPECT_EQ(open_channel->GetState(false), GRPC_CHANNEL_READY);

  // New connections get the rotated certificate (the watcher polls every
  // second; bounded to 10 s).
  std::string subject;
  for (int attempt = 0; attempt < 100 && subject.find("rotated") == std::string::npos; ++attempt) {
    Answer fresh = Call(Channel(port, 100 + attempt), kNewToken);
    subject = fresh.server_subject;
    if (subject.find("rotated") == std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_THAT(subject, ::testing::HasSubstr("CN=localhost-rotated"));

  // A config that does not parse changes nothing and keeps serving.
  std::ofstream(dir_.File("dsard.textproto")) << "listen_port: 5\n";
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  auto failed = dsard.WaitForLine("\"event\":\"config_relo");
  ASSERT_TRUE(failed) << dsard.output();
  EXPECT_THAT(*failed, ::testing::HasSubstr("config_reload_failed"));
  EXPECT_EQ(Call(open_channel, kNewToken).code, grpc::StatusCode::OK);

  dsard.Signal(SIGTERM);
  EXPECT_EQ(dsard.Wait(), 0);
}

}  // namespace
}  // namespace dsar
