// dsard's real gRPC server, in-process on 127.0.0.1:0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "lib/core/config.h"
#include "services/dsard.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::testing::Contains;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = ParseDsardConfig(
        "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\n"
        "shutdown_grace_ms: 500\ndatabase_path: \"" +
            dir_.File("dsar.db") + "\"\n",
        "test");
    ASSERT_THAT(config, IsOk());
    auto daemon = Dsard::Start(*config);
    ASSERT_THAT(daemon, IsOk());
    daemon_ = std::move(*daemon);
    channel_ = ::dsar::testing::LoopbackChannel(daemon_->port());
  }

  ::dsar::testing::TempDir dir_;
  std::unique_ptr<Dsard> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ServerTest, HealthAnswersServing) {
  auto status = ::dsar::testing::CheckHealth(channel_);
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(*status, grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(ServerTest, ReflectionListsTheServices) {
  auto services = ::dsar::testing::ListServicesByReflection(channel_);
  ASSERT_THAT(services, IsOk());
  EXPECT_THAT(*services, Contains("grpc.health.v1.Health"));
  EXPECT_THAT(*services, Contains("grpc.reflection.v1alpha.ServerReflection"));
  for (const auto& service : *services) {
    if (service.rfind("grpc.reflection.", 0) == 0) continue;  // describes itself elsewhere
    auto described = ::dsar::testing::ReflectionDescribes(channel_, service);
    ASSERT_THAT(described, IsOk());
    EXPECT_TRUE(*described) << service << " cannot be described by reflection";
  }
}

TEST_F(ServerTest, ShutdownTurnsHealthNotServingForWatchersAndEndsTheirStreams) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest request;
  auto reader = stub->Watch(&ctx, request);
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  std::thread stopper([&] { daemon_->Shutdown(); });
  std::vector<int> seen;
  while (reader->Read(&response)) seen.push_back(response.status());
  (void)reader->Finish();
  stopper.join();
  EXPECT_THAT(seen, Contains(grpc::health::v1::HealthCheckResponse::NOT_SERVING));
  EXPECT_FALSE(::dsar::testing::CheckHealth(channel_).ok());
}

}  // namespace
}  // namespace dsar
