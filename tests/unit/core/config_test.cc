#include "lib/core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kGood[] = R"(
listen_address: "127.0.0.1:50051"
database_path: "var/dsar.db"
insecure_loopback: true
)";

TEST(ConfigTest, MinimalConfigGetsDefaults) {
  auto config = ParseDsardConfig(kGood, "dsard.textproto");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->max_message_bytes(), 4 << 20);
  EXPECT_EQ(config->shutdown_grace_ms(), 5000);
  EXPECT_EQ(config->read_pool_size(), 4);
  EXPECT_EQ(config->writer().max_group_size(), 512);
  EXPECT_EQ(config->log_level(), "info");
  EXPECT_EQ(config->consent_index_max_entries(), 2000000);
  EXPECT_EQ(config->read_mmap_mib(), 0);
}

TEST(ConfigTest, ConsentIndexAndMemoryMapLimits) {
  EXPECT_THAT(ParseDsardConfig(std::string(kGood) + "consent_index_max_entries: -1\n", "d"),
              IsOk());  // -1: no in-memory consent index
  EXPECT_THAT(ParseDsardConfig(std::string(kGood) + "consent_index_max_entries: -2\n", "d"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("d:5: consent_index_max_entries"), HasSubstr("between"))));
  EXPECT_THAT(ParseDsardConfig(std::string(kGood) + "read_mmap_mib: 256\n", "e"), IsOk());
  EXPECT_THAT(ParseDsardConfig(std::string(kGood) + "read_mmap_mib: 4096\n", "e"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("e:5: read_mmap_mib"), HasSubstr("between"))));
}

TEST(ConfigTest, UnknownFieldNamesFileLineAndField) {
  auto config = ParseDsardConfig(std::string(kGood) + "\nlisten_adress: \"x\"\n", "a.textproto");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("a.textproto:6:"), HasSubstr("listen_adress"))));
}

TEST(ConfigTest, WrongTypeNamesFileAndLine) {
  auto config = ParseDsardConfig(std::string(kGood) + "read_pool_size: \"four\"\n", "b.textproto");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("b.textproto:5:"), HasSubstr("integer"))));
}

TEST(ConfigTest, OutOfRangeValueNamesFieldAndLine) {
  auto config = ParseDsardConfig(std::string(kGood) +
                                     "writer {\n  max_group_size: 0\n"
                                     "  max_queue_depth: -5\n}\n",
                                 "c.textproto");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("c.textproto:7: writer.max_queue_depth"),
                                     HasSubstr("between"))));
}

TEST(ConfigTest, MissingRequiredFieldsAreAllReported) {
  auto config = ParseDsardConfig("log_level: \"loud\"\n", "d.textproto");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("listen_address: required"),
                                     HasSubstr("database_path: required"),
                                     HasSubstr("d.textproto:1: log_level"))));
}

TEST(ConfigTest, PlaintextIsRefusedOffLoopbackAndWithoutTheInsecureFlag) {
  EXPECT_THAT(ParseDsardConfig("listen_address: \"0.0.0.0:1\"\ndatabase_path: \"x\"\n"
                               "insecure_loopback: true\n",
                               "e"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("e:1: listen_address")));
  EXPECT_THAT(ParseDsardConfig("listen_address: \"127.0.0.1:1\"\ndatabase_path: \"x\"\n", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("TLS")));
  EXPECT_THAT(ParseDsardConfig("listen_address: \"127.0.0.1:99999\"\ndatabase_path: \"x\"\n"
                               "insecure_loopback: true\n",
                               "g"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port")));
}

TEST(ConfigTest, TenantsAndPrincipalsAreValidatedWithLines) {
  auto config = ParseDsardConfig(std::string(kGood) + R"(tenants {
  id: "Acme Travel"
  purposes { name: "booking" }
}
principals {
  name: "svc-booking"
  role: "superuser"
  tenant: "nobody"
  token_sha256: "abc"
}
)",
                                 "t.textproto");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("t.textproto:6: tenants[0].id"),
                                     HasSubstr("t.textproto:7: tenants[0].purposes[0]"
                                               ".current_notice_version"),
                                     HasSubstr("subject_key_file: required"),
                                     HasSubstr("t.textproto:11: principals[0].role"),
                                     HasSubstr("t.textproto:12: principals[0].tenant"),
                                     HasSubstr("t.textproto:13: principals[0].token_sha256"))));
}

TEST(ConfigTest, BreachClockHoursAreBounded) {
  const std::string tenant = R"(subject_key_file: "k"
tenants {
  id: "acme-travel"
  breach_subject_communication_hours: )";
  EXPECT_THAT(ParseDsardConfig(std::string(kGood) + tenant + "48\n}\n", "t.textproto"), IsOk());
  EXPECT_THAT(ParseDsardConfig(std::string(kGood) + tenant + "721\n}\n", "t.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tenants[0].breach_subject_communication_hours")));
}

TEST(ConfigTest, MissingFileIsNotFoundNamingThePath) {
  EXPECT_THAT(LoadDsardConfig("/nonexistent/dsard.textproto"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/dsard.textproto")));
}

TEST(ConfigTest, LoadsFromFile) {
  ::dsar::testing::TempDir dir;
  std::ofstream(dir.File("dsard.textproto")) << kGood;
  auto config = LoadDsardConfig(dir.File("dsard.textproto"));
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->listen_address(), "127.0.0.1:50051");
}

TEST(ConfigTest, LoopbackAddresses) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackAddress("127.1.2.3:1"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:50051"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:0"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:50051"));
  EXPECT_FALSE(IsLoopbackAddress("[::]:50051"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1:50051"));
}

}  // namespace
}  // namespace dsar
