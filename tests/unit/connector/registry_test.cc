// Connector configuration (validation and defaults), the registry built from
// it, and payload sealing.
#include "lib/connector/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/connector/payload.h"
#include "lib/core/config.h"
#include "tests/testing/status_matchers.h"

namespace dsar::connector {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kBase[] =
    "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\n"
    "database_path: \"/tmp/x.db\"\nsubject_key_file: \"/tmp/k\"\n"
    "tenants { id: \"acme-travel\" }\n";

absl::StatusOr<config::v1::DsardConfig> Parse(const std::string& extra) {
  return ParseDsardConfig(std::string(kBase) + extra, "test.textproto");
}

TEST(ConnectorConfigTest, DefaultsAreFilledAndTheRegistryCarriesTheRegister) {
  auto config = Parse(R"cfg(
connectors {
  name: "booking" address: "127.0.0.1:50061" tenant: "acme-travel"
  purposes: "booking" purposes: "marketing" categories: "payment" country: "SE"
  processor: "Example Booking AB (synthetic)"
  sub_processors { name: "Example Hosting AB (synthetic)" country: "SE" service: "hosting" }
}
connectors { name: "crm" address: "localhost:50062" task_kinds: "subject.export"
             max_attempts: 3 initial_backoff_ms: 50 max_backoff_ms: 400
             breaker { failure_threshold: 2 } })cfg");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->connectors(0).call_timeout_ms(), 5000);
  EXPECT_EQ(config->connectors(0).max_attempts(), 8);
  EXPECT_EQ(config->connectors(0).breaker().open_ms(), 30000);
  EXPECT_EQ(config->outbox().poll_interval_ms(), 1000);
  ConnectorRegistry registry = ConnectorRegistry::FromConfig(*config);
  ASSERT_THAT(registry.connectors(), SizeIs(2));
  const ConnectorInfo* booking = registry.Find("booking");
  ASSERT_NE(booking, nullptr);
  EXPECT_EQ(booking->endpoint.address, "127.0.0.1:50061");
  EXPECT_FALSE(booking->endpoint.tls);
  EXPECT_EQ(booking->country, "SE");
  ASSERT_THAT(booking->sub_processors, SizeIs(1));
  EXPECT_EQ(booking->sub_processors[0].service, "hosting");
  const ConnectorInfo* crm = registry.Find("crm");
  EXPECT_EQ(crm->backoff.max_attempts, 3);
  EXPECT_EQ(crm->backoff.initial, absl::Milliseconds(50));
  EXPECT_EQ(crm->backoff.max, absl::Milliseconds(400));
  EXPECT_EQ(crm->breaker.failure_threshold, 2);
  EXPECT_EQ(registry.Find("ledger"), nullptr);

  auto names = [](const std::vector<const ConnectorInfo*>& v) {
    std::vector<std::string> out;
    for (auto* c : v) out.push_back(c->name);
    return out;
  };
  EXPECT_THAT(names(registry.Targets("acme-travel", TaskKind::kSubjectErase, "")),
              ElementsAre("booking"));  // the CRM takes exports only
  EXPECT_THAT(names(registry.Targets("acme-travel", TaskKind::kSubjectExport, "")),
              ElementsAre("booking", "crm"));
  EXPECT_THAT(names(registry.Targets("other", TaskKind::kSubjectExport, "")),
              ElementsAre("crm"));  // booking serves acme-travel only
  EXPECT_THAT(names(registry.Targets("acme-travel", TaskKind::kConsentApply, "marketing")),
              ElementsAre("booking"));
  EXPECT_THAT(names(registry.Targets("acme-travel", TaskKind::kConsentApply, "analytics")),
              ElementsAre());
}

TEST(ConnectorConfigTest, EachBadFieldIsNamedWithItsLine) {
  auto config = Parse(R"cfg(connectors { name: "Booking!" address: "127.0.0.1:50061" }
connectors { name: "crm" address: "crm.example.invalid:443" }
connectors { name: "crm" address: "127.0.0.1" }
connectors { name: "docs" address: "127.0.0.1:1" tenant: "nobody" max_attempts: -1
             initial_backoff_ms: 500 max_backoff_ms: 100 task_kinds: "subject.delete"
             country: "Sweden" breaker { open_ms: -5 } }
)cfg");
  ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string m(config.status().message());
  EXPECT_THAT(m, AllOf(HasSubstr("test.textproto:6: connectors[0].name"),
                       HasSubstr("connectors[1].address: plaintext is allowed only to loopback"),
                       HasSubstr("connectors[2].name: duplicate connector name"),
                       HasSubstr("connectors[2].address: must be host:port"),
                       HasSubstr("connectors[3].tenant"), HasSubstr("connectors[3].max_attempts"),
                       HasSubstr("connectors[3].max_backoff_ms: must be >= initial_backoff_ms"),
                       HasSubstr("connectors[3].task_kinds"), HasSubstr("connectors[3].country"),
                       HasSubstr("connectors[3].breaker.open_ms")));
}

TEST(ConnectorConfigTest, ConnectorsNeedAPayloadKey) {
  auto config = ParseDsardConfig(
      "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\n"
      "database_path: \"/tmp/x.db\"\nconnectors { name: \"a\" address: \"127.0.0.1:1\" }\n",
      "t");
  ASSERT_THAT(config,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outbox.payload_key_file")));
  config = ParseDsardConfig(
      "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\n"
      "database_path: \"/tmp/x.db\"\nconnectors { name: \"a\" address: \"127.0.0.1:1\" }\n"
      "outbox { payload_key_file: \"/tmp/outbox.key\" }\n",
      "t");
  EXPECT_THAT(config, IsOk());
}

TEST(PayloadSealerTest, RoundTripsAndRefusesAlteredOrMovedPayloads) {
  auto sealer = PayloadSealer::FromSecret("0123456789abcdef0123456789abcdef");
  ASSERT_THAT(sealer, IsOk());
  TaskPayload p;
  p.subject = {{IdentifierType::kEmail, "person-0001@example.invalid"},
               {IdentifierType::kPhone, "+46700000001"}};
  p.purpose = "marketing";
  p.consent_given = true;
  p.change_time = absl::FromUnixSeconds(1767225600);
  std::string sealed = (*sealer)->Seal(p, "task_a");
  EXPECT_EQ(sealed.find("person-0001"), std::string::npos);
  auto opened = (*sealer)->Open(sealed, "task_a");
  ASSERT_THAT(opened, IsOk());
  ASSERT_THAT(opened->subject, SizeIs(2));
  EXPECT_EQ(opened->subject[1].type, IdentifierType::kPhone);
  EXPECT_EQ(opened->subject[1].value, "+46700000001");
  EXPECT_EQ(opened->purpose, "marketing");
  EXPECT_TRUE(opened->consent_given);
  EXPECT_EQ(opened->change_time, p.change_time);

  EXPECT_THAT((*sealer)->Open(sealed, "task_b"), StatusIs(absl::StatusCode::kDataLoss));
  std::string altered = sealed;
  altered[altered.size() - 3] ^= 0x01;
  EXPECT_THAT((*sealer)->Open(altered, "task_a"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT((*sealer)->Open("", "task_a"), StatusIs(absl::StatusCode::kDataLoss));
  auto other = PayloadSealer::FromSecret("another-secret-0123456789abcdef-xyz");
  EXPECT_THAT((*other)->Open(sealed, "task_a"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(PayloadSealer::FromSecret("short"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(PayloadSealer::FromSecretFile("/nonexistent/outbox.key"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("/nonexistent")));
}

}  // namespace
}  // namespace dsar::connector
