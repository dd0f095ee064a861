// OutboundPolicy: hostile URLs refused with a reason, internal addresses
// refused unless allowlisted, names pinned through a fake resolver (no DNS).
#include "lib/delivery/outbound_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/testing/hostile_urls.h"
#include "tests/testing/status_matchers.h"

namespace dsar::delivery {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::HasSubstr;

// The demo's and the tests' allowlist: receivers on this machine.
OutboundPolicy LoopbackAllowed() { return *OutboundPolicy::Create({"127.0.0.0/8", "::1/128"}); }

class TableResolver : public Resolver {
 public:
  std::map<std::string, std::vector<std::string>> table;
  int lookups = 0;
  absl::StatusOr<std::vector<IpAddress>> Resolve(const std::string& host) override {
    ++lookups;
    std::vector<IpAddress> out;
    for (const std::string& a : table[host]) out.push_back(*IpAddress::Parse(a));
    if (out.empty()) return absl::UnavailableError(host + " does not resolve");
    return out;
  }
};

TEST(OutboundUrlTest, EveryHostileUrlIsRefusedNamingWhy) {
  const OutboundPolicy policy = LoopbackAllowed();
  for (const ::dsar::testing::HostileUrl& h : ::dsar::testing::HostileUrls()) {
    EXPECT_THAT(policy.Check(h.url),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(h.reason)))
        << h.url;
  }
}

TEST(OutboundUrlTest, PlainHttpsAndLoopbackHttpPass) {
  const OutboundPolicy policy = LoopbackAllowed();
  auto a = policy.Check("https://Hooks.Example.com:8443/dsr/status?tenant=acme");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->scheme, "https");
  EXPECT_EQ(a->host, "hooks.example.com");
  EXPECT_EQ(a->port, 8443);
  EXPECT_FALSE(a->literal.has_value());
  auto b = policy.Check("http://127.0.0.1:8080/status");
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->port, 8080);
  EXPECT_EQ(b->url, "http://127.0.0.1:8080/status");
  ASSERT_TRUE(b->literal.has_value());
  auto c = policy.Check("http://[::1]:9/x");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->host, "::1");
  EXPECT_THAT(policy.Check("https://xn--bcher-kva.example/"), IsOk());
  EXPECT_THAT(policy.Check("https://93.184.215.14/hook"), IsOk());
  EXPECT_EQ(policy.Check("https://example.com")->port, 443);
}

TEST(OutboundUrlTest, LoopbackNeedsTheAllowlist) {
  const OutboundPolicy none;
  EXPECT_THAT(none.Check("http://127.0.0.1:8080/status"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("names a loopback address (127.0.0.0/8) outside "
                                 "outbound.allowed_cidrs")));
  EXPECT_THAT(none.Check("http://[::1]/"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("loopback address (::1)")));
  const OutboundPolicy internal = *OutboundPolicy::Create({"10.20.0.0/16"});
  EXPECT_THAT(internal.Check("https://10.20.1.2/alerts"), IsOk());
  EXPECT_THAT(internal.Check("https://10.21.1.2/alerts"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a private address")));
}

TEST(OutboundUrlTest, AddressKinds) {
  const std::map<std::string, std::string> kinds = {
      {"0.0.0.0", "unspecified"},
      {"127.5.6.7", "loopback"},
      {"169.254.169.254", "cloud metadata"},
      {"169.254.1.1", "link-local"},
      {"10.0.0.1", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"100.64.0.1", "carrier-grade NAT"},
      {"224.0.0.1", "multicast"},
      {"255.255.255.255", "reserved"},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"fe80::1", "link-local"},
      {"fd00:ec2::254", "cloud metadata"},
      {"fd12:3456::1", "private"},
      {"fc00::1", "private"},
      {"ff02::1", "multicast"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:169.254.169.254", "cloud metadata"},
      {"64:ff9b::a00:1", "private"},    // NAT64 of 10.0.0.1
      {"2002:c0a8:101::1", "private"},  // 6to4 of 192.168.1.1
      {"::127.0.0.1", "reserved"},
  };
  for (const auto& [text, kind] : kinds) {
    std::optional<IpAddress> a = IpAddress::Parse(text);
    ASSERT_TRUE(a.has_value()) << text;
    EXPECT_THAT(InternalAddressKind(*a), HasSubstr(kind)) << text;
  }
  for (const char* text : {"93.184.215.14", "172.32.0.1", "100.128.0.1", "2606:2800:220:1::1",
                           "::ffff:93.184.215.14"}) {
    EXPECT_EQ(InternalAddressKind(*IpAddress::Parse(text)), "") << text;
  }
}

TEST(OutboundUrlTest, CidrRanges) {
  EXPECT_THAT(OutboundPolicy::Create({"127.0.0.0/8", "::1/128", "10.0.0.0/8"}), IsOk());
  for (const char* bad : {"127.0.0.0", "127.0.0.0/33", "::1/129", "localhost/8", "10.0.0.0/-1",
                          "10.0.0.0/8/8", "0x7f.0.0.0/8"}) {
    EXPECT_THAT(OutboundPolicy::Create({bad}), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
  const Cidr c = *Cidr::Parse("172.16.0.0/12");
  EXPECT_TRUE(c.Contains(*IpAddress::Parse("172.31.0.1")));
  EXPECT_FALSE(c.Contains(*IpAddress::Parse("172.32.0.1")));
  EXPECT_FALSE(c.Contains(*IpAddress::Parse("::ffff:172.16.0.1")));  // another family
}

TEST(OutboundUrlTest, PinResolvesOnceAndChecksEveryAddress) {
  const OutboundPolicy policy = LoopbackAllowed();
  TableResolver resolver;
  resolver.table["hooks.example.com"] = {"93.184.215.14", "2606:2800:220:1::1"};
  auto pinned = policy.Pin("https://hooks.example.com/dsr", resolver);
  ASSERT_THAT(pinned, IsOk());
  EXPECT_EQ(pinned->address.ToString(), "93.184.215.14");
  EXPECT_EQ(pinned->ResolveEntry(), "hooks.example.com:443:93.184.215.14");
  EXPECT_EQ(resolver.lookups, 1);

  resolver.table["hooks.example.com"] = {"93.184.215.14", "192.168.0.10"};
  EXPECT_THAT(policy.Pin("https://hooks.example.com/dsr", resolver),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("hooks.example.com resolves to 192.168.0.10, a private address")));
  resolver.table["rebind.example.com"] = {"fd00:ec2::254"};
  EXPECT_THAT(policy.Pin("https://rebind.example.com/", resolver),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("cloud metadata")));
  EXPECT_THAT(policy.Pin("https://nowhere.example.com/", resolver),
              StatusIs(absl::StatusCode::kUnavailable));
  // An IP literal is its own address: no look-up.
  const int before = resolver.lookups;
  auto literal = policy.Pin("http://127.0.0.1:9/x", resolver);
  ASSERT_THAT(literal, IsOk());
  EXPECT_EQ(literal->address.ToString(), "127.0.0.1");
  EXPECT_EQ(resolver.lookups, before);
  EXPECT_THAT(policy.Pin("http://127.0.0.1:80@evil.example.com/", resolver),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(OutboundUrlTest, TenantHostAllowlist) {
  const std::vector<std::string> hosts = {"hooks.example.com", "*.acme.example", "127.0.0.1"};
  EXPECT_TRUE(HostAllowed({}, "anything.example"));
  EXPECT_TRUE(HostAllowed(hosts, "hooks.example.com"));
  EXPECT_TRUE(HostAllowed(hosts, "a.b.acme.example"));
  EXPECT_TRUE(HostAllowed(hosts, "127.0.0.1"));
  EXPECT_FALSE(HostAllowed(hosts, "acme.example"));
  EXPECT_FALSE(HostAllowed(hosts, "evilacme.example"));
  EXPECT_FALSE(HostAllowed(hosts, "hooks.example.com.evil.example"));
  EXPECT_EQ(HostPatternProblem("*.acme.example"), "");
  EXPECT_EQ(HostPatternProblem("::1"), "");
  EXPECT_NE(HostPatternProblem("Hooks.Example.com"), "");
  EXPECT_NE(HostPatternProblem("[::1]"), "");
  EXPECT_NE(HostPatternProblem("*."), "");
  EXPECT_NE(HostPatternProblem("https://hooks.example.com"), "");
}

}  // namespace
}  // namespace dsar::delivery
