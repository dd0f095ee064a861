// The deadline section of dsard's config: validation at start-up and the
// engine it builds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "lib/core/config.h"
#include "lib/deadline/deadline_module.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace dsar::deadline {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Config(const std::string& deadline_section) {
  return "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\n"
         "database_path: \"/tmp/unused.db\"\n" +
         deadline_section;
}

TEST(DeadlineConfigTest, AcceptsAFullSection) {
  auto c = ParseDsardConfig(Config(R"(outbound { allowed_cidrs: "127.0.0.0/8" }
deadline {
  time_zone: "Europe/Stockholm"
  warn_before: "48h" warn_before: "30m"
  overdue_every: "12h"
  horizon_seconds: 600
  webhooks { name: "oncall" url: "https://alerts.example.invalid/hooks" secret_file: "/run/secret" }
  webhooks { name: "local" url: "http://127.0.0.1:8080/hooks" secret_file: "/run/secret2" timeout_ms: 500 }
})"),
                            "test.textproto");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->deadline().webhooks_size(), 2);
}

TEST(DeadlineConfigTest, NamesEachBadFieldWithItsLine) {
  auto c = ParseDsardConfig(Config(R"(deadline {
  time_zone: "Mars/Olympus"
  warn_before: "-1h"
  overdue_every: "often"
  horizon_seconds: 5
  webhooks { name: "Bad Name" url: "http://alerts.example.invalid/" }
  webhooks { name: "dup" url: "ftp://x" secret_file: "/s" }
  webhooks { name: "dup" url: "https://x.example.invalid/" secret_file: "/s" timeout_ms: 5 }
  webhooks { name: "local" url: "http://127.0.0.1:8080/" secret_file: "/s" }
  webhooks { name: "sneaky" url: "http://127.0.0.1:80@evil.example.invalid/" secret_file: "/s" }
}
outbound { allowed_cidrs: "127.0.0.0/33" })"),
                            "test.textproto");
  ASSERT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string m(c.status().message());
  EXPECT_THAT(m, HasSubstr("test.textproto:5: deadline.time_zone"));
  EXPECT_THAT(m, HasSubstr("deadline.warn_before[0]"));
  EXPECT_THAT(m, HasSubstr("deadline.overdue_every"));
  EXPECT_THAT(m, HasSubstr("deadline.horizon_seconds"));
  EXPECT_THAT(m, HasSubstr("deadline.webhooks[0].name"));
  EXPECT_THAT(m, HasSubstr("deadline.webhooks[0].url: plain http is only allowed to a loopback"));
  EXPECT_THAT(m, HasSubstr("deadline.webhooks[0].secret_file: required"));
  EXPECT_THAT(m, HasSubstr("deadline.webhooks[1].url"));
  EXPECT_THAT(m, HasSubstr("deadline.webhooks[2].name: duplicate"));
  EXPECT_THAT(m, HasSubstr("deadline.webhooks[2].timeout_ms"));
  EXPECT_THAT(m, HasSubstr("deadline.webhooks[3].url: names a loopback address"));
  EXPECT_THAT(m, HasSubstr("deadline.webhooks[4].url: must not contain user information"));
  EXPECT_THAT(m, HasSubstr(":15: outbound.allowed_cidrs: \"127.0.0.0/33\" is not a CIDR range"));
}

delivery::OutboundPolicy Loopback() { return *delivery::OutboundPolicy::Create({"127.0.0.0/8"}); }

class EngineFromConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions options;
    options.path = dir_.File("dsar.db");
    auto s = store::Store::Open(options);
    ASSERT_THAT(s, IsOk());
    store_ = std::move(*s);
  }
  ::dsar::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(EngineFromConfigTest, BuildsLevelsZoneAndSinks) {
  std::ofstream(dir_.File("hook.secret")) << "  a-webhook-secret-of-32-bytes-xx\n";
  config::v1::DeadlineConfig c;
  c.set_time_zone("Europe/Stockholm");
  c.add_warn_before("48h");
  c.set_overdue_every("0s");
  auto* hook = c.add_webhooks();
  hook->set_name("oncall");
  hook->set_url("http://127.0.0.1:9/hooks");
  hook->set_secret_file(dir_.File("hook.secret"));
  auto engine = DeadlineModule::Create(c, store_.get(), &clock_, Loopback());
  ASSERT_THAT(engine, IsOk());
  const DeadlineOptions& o = (*engine)->deadlines().options();
  EXPECT_EQ(o.time_zone.name(), "Europe/Stockholm");
  EXPECT_THAT(o.levels.warn_before, ElementsAre(absl::Hours(48)));
  EXPECT_EQ(o.levels.overdue_every, absl::ZeroDuration());
  EXPECT_THAT((*engine)->forwarder().sink_names(), ElementsAre("log", "webhook:oncall"));
}

TEST_F(EngineFromConfigTest, MissingSecretFileIsNotFound) {
  config::v1::DeadlineConfig c;
  auto* hook = c.add_webhooks();
  hook->set_name("oncall");
  hook->set_url("http://127.0.0.1:9/hooks");
  hook->set_secret_file(dir_.File("absent.secret"));
  EXPECT_THAT(DeadlineModule::Create(c, store_.get(), &clock_, Loopback()),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace dsar::deadline
