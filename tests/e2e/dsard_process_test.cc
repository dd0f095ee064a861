// dsard as a real process: flags, config errors, serving, SIGTERM shutdown.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/testing/child_process.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace dsar {
namespace {

using ::dsar::testing::ChildProcess;
using ::dsar::testing::IsOk;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;

class DsardProcessTest : public ::testing::Test {
 protected:
  std::string WriteConfig(const std::string& body) {
    std::string path = dir_.File("dsard.textproto");
    std::ofstream(path) << body;
    return path;
  }
  std::string GoodConfig() {
    return "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\nshutdown_grace_ms: 1000\n"
           "database_path: \"" +
           dir_.File("var/dsar.db") + "\"\nport_file: \"" + dir_.File("port") + "\"\n";
  }
  // Waits for the "ready" log line and returns the port it names.
  int ListeningPort(ChildProcess& dsard) {
    auto line = dsard.WaitForLine("\"event\":\"ready\"");
    if (!line) return 0;
    return nlohmann::json::parse(*line).value("port", 0);
  }

  ::dsar::testing::TempDir dir_;
};

TEST_F(DsardProcessTest, VersionFlagPrintsVersion) {
  ChildProcess dsard({DSARD_PATH, "--version"});
  EXPECT_EQ(dsard.Wait(), 0);
  EXPECT_THAT(dsard.output(), HasSubstr("dsard "));
}

TEST_F(DsardProcessTest, MissingConfigFileStopsStartupNamingTheFile) {
  ChildProcess dsard({DSARD_PATH, "--config", dir_.File("absent.textproto")});
  EXPECT_EQ(dsard.Wait(), 2);
  EXPECT_THAT(dsard.output(), AllOf(HasSubstr("absent.textproto"), HasSubstr("cannot open")));
}

TEST_F(DsardProcessTest, UnknownFieldStopsStartupWithFileLineAndReason) {
  std::string path = WriteConfig(GoodConfig() + "listen_port: 5\n");
  ChildProcess dsard({DSARD_PATH, "--config", path});
  EXPECT_EQ(dsard.Wait(), 2);
  EXPECT_THAT(dsard.output(), AllOf(HasSubstr(path + ":6:"), HasSubstr("listen_port")));
}

TEST_F(DsardProcessTest, WrongTypeStopsStartupWithFileLineAndReason) {
  std::string path = WriteConfig(GoodConfig() + "shutdown_grace_ms: \"soon\"\n");
  ChildProcess dsard({DSARD_PATH, "--config", path});
  EXPECT_EQ(dsard.Wait(), 2);
  EXPECT_THAT(dsard.output(), HasSubstr(path + ":6:"));
}

TEST_F(DsardProcessTest, ServesHealthWritesPortFileAndLogsJson) {
  ChildProcess dsard({DSARD_PATH, "--config", WriteConfig(GoodConfig())});
  int port = ListeningPort(dsard);
  ASSERT_GT(port, 0) << dsard.output();
  int port_in_file = 0;
  std::ifstream(dir_.File("port")) >> port_in_file;
  EXPECT_EQ(port_in_file, port);
  auto channel = ::dsar::testing::LoopbackChannel(port);
  auto health = ::dsar::testing::CheckHealth(channel);
  ASSERT_THAT(health, IsOk());
  EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::SERVING);
  // Reflection clients (buf curl, grpcurl) can describe every served service.
  auto services = ::dsar::testing::ListServicesByReflection(channel);
  ASSERT_THAT(services, IsOk());
  EXPECT_THAT(*services, Contains("grpc.health.v1.Health"));
  for (const auto& service : *services) {
    if (service.rfind("grpc.reflection.", 0) == 0) continue;
    auto described = ::dsar::testing::ReflectionDescribes(channel, service);
    ASSERT_THAT(described, IsOk());
    EXPECT_TRUE(*described) << service << " cannot be described by reflection";
  }
  dsard.Signal(SIGTERM);
  EXPECT_EQ(dsard.Wait(), 0);
  // Every log line is one JSON object with ts, level and event.
  std::istringstream lines(dsard.output());
  std::string line;
  int parsed = 0;
  while (std::getline(lines, line)) {
    auto obj = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(obj.is_discarded()) << line;
    EXPECT_TRUE(obj.contains("ts") && obj.contains("level") && obj.contains("event")) << line;
    ++parsed;
  }
  EXPECT_GE(parsed, 4);
  // The audit head is anchored in the log at start and at shutdown.
  size_t anchors = 0;
  for (size_t pos = 0;
       (pos = dsard.output().find("\"event\":\"audit_anchor\"", pos)) != std::string::npos; ++pos) {
    ++anchors;
  }
  EXPECT_EQ(anchors, 2u);
}

TEST_F(DsardProcessTest, SigtermDuringInFlightCallsEndsThemAndExitsZero) {
  ChildProcess dsard({DSARD_PATH, "--config", WriteConfig(GoodConfig())});
  int port = ListeningPort(dsard);
  ASSERT_GT(port, 0) << dsard.output();
  auto channel = ::dsar::testing::LoopbackChannel(port);
  auto stub = grpc::health::v1::Health::NewStub(channel);

  // Long-lived streams: each has seen SERVING before the signal is sent.
  constexpr int kWatchers = 4;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<grpc::health::v1::HealthCheckResponse>>> readers;
  for (int i = 0; i < kWatchers; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    readers.push_back(stub->Watch(contexts.back().get(), {}));
    grpc::health::v1::HealthCheckResponse first;
    ASSERT_TRUE(readers.back()->Read(&first));
    ASSERT_EQ(first.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  // Unary calls keep arriving while the server stops.
  std::atomic<bool> stop{false};
  std::atomic<bool> caller_done{false};
  std::atomic<int> ok_calls{0};
  std::thread caller([&] {
    while (!stop && ::dsar::testing::CheckHealth(channel).ok()) ++ok_calls;
    caller_done = true;
  });
  while (ok_calls.load() < 10 && !caller_done) std::this_thread::yield();
  ASSERT_GE(ok_calls.load(), 10);

  dsard.Signal(SIGTERM);
  for (auto& reader : readers) {
    grpc::health::v1::HealthCheckResponse update;
    bool saw_not_serving = false;
    while (reader->Read(&update)) {
      saw_not_serving |= update.status() == grpc::health::v1::HealthCheckResponse::NOT_SERVING;
    }
    (void)reader->Finish();
    EXPECT_TRUE(saw_not_serving);
  }
  stop = true;
  caller.join();
  EXPECT_EQ(dsard.Wait(), 0);
  EXPECT_THAT(dsard.output(), AllOf(HasSubstr("\"signal_received\""), HasSubstr("\"store_closed\""),
                                    HasSubstr("\"stopped\"")));
  SQLite::Database db(dir_.File("var/dsar.db"), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

}  // namespace
}  // namespace dsar
