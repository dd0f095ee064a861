#include "lib/delivery/signed_http_poster.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "tests/testing/status_matchers.h"

namespace dsar::delivery {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;

constexpr char kSecret[] = "poster-test-secret-0123456789";

// A real HTTP receiver on 127.0.0.1 (port picked by the OS) that answers
// every POST with the status code the test set and records what it got.
class Receiver {
 public:
  struct Got {
    std::string body, signature, content_type, attempt, user_agent, expect;
  };

  Receiver() {
    server_.Post("/in", [this](const httplib::Request& req, httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      got_.push_back({req.body, req.get_header_value("X-Dsar-Signature"),
                      req.get_header_value("Content-Type"),
                      req.get_header_value("X-Dsar-Delivery-Attempt"),
                      req.get_header_value("User-Agent"), req.get_header_value("Expect")});
      res.status = answer_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/in"; }
  void Answer(int status) {
    absl::MutexLock lock(&mu_);
    answer_ = status;
  }
  std::vector<Got> got() {
    absl::MutexLock lock(&mu_);
    return got_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  int answer_ ABSL_GUARDED_BY(mu_) = 204;
  std::vector<Got> got_ ABSL_GUARDED_BY(mu_);
};

FakeClock* TestClock() {
  static FakeClock* clock = new FakeClock(absl::FromUnixSeconds(1767225600));
  return clock;
}

Signing Sign() { return {kSecret, "alrt_1"}; }

SignedHttpPosterOptions Options() {
  SignedHttpPosterOptions o;
  o.clock = TestClock();
  o.timeout = absl::Seconds(5);
  o.user_agent = "dsard-test/1";
  o.policy = *OutboundPolicy::Create({"127.0.0.0/8"});
  return o;
}

TEST(SignedHttpPosterTest, PostsTheBodySignedWithTheCallersHeaders) {
  Receiver receiver;
  SignedHttpPoster poster(Options());
  const std::string body = R"({"kind":"synthetic"})";
  ASSERT_THAT(poster.Post(receiver.url(), body, Sign(), {{"X-Dsar-Delivery-Attempt", "3"}}),
              IsOk());
  const auto got = receiver.got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, body);
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].attempt, "3");
  EXPECT_EQ(got[0].user_agent, "dsard-test/1");
  EXPECT_EQ(got[0].expect, "");
  EXPECT_EQ(got[0].signature, SignatureHeader(kSecret, TestClock()->Now(), "alrt_1", body));
  EXPECT_THAT(VerifySignatureHeader(kSecret, got[0].signature, "alrt_1", body, TestClock()->Now()),
              IsOk());
}

TEST(SignedHttpPosterTest, PermanentRejectionsAreInvalidArgument) {
  Receiver receiver;
  SignedHttpPoster poster(Options());
  for (int code : {400, 404, 409, 410, 413, 415, 422}) {
    receiver.Answer(code);
    EXPECT_THAT(poster.Post(receiver.url(), "{}", Sign(), {}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::HasSubstr("HTTP " + std::to_string(code))))
        << code;
    EXPECT_TRUE(IsPermanentRejection(code)) << code;
  }
  EXPECT_EQ(receiver.got().size(), 7u);
}

TEST(SignedHttpPosterTest, EverythingElseIsTransient) {
  Receiver receiver;
  SignedHttpPoster poster(Options());
  for (int code : {301, 401, 403, 408, 429, 500, 502, 503}) {
    receiver.Answer(code);
    EXPECT_THAT(poster.Post(receiver.url(), "{}", Sign(), {}),
                StatusIs(absl::StatusCode::kUnavailable,
                         ::testing::HasSubstr("HTTP " + std::to_string(code))))
        << code;
    EXPECT_FALSE(IsPermanentRejection(code)) << code;
  }
}

TEST(SignedHttpPosterTest, AnyTwoHundredIsADelivery) {
  Receiver receiver;
  SignedHttpPoster poster(Options());
  for (int code : {200, 202, 204}) {
    receiver.Answer(code);
    EXPECT_THAT(poster.Post(receiver.url(), "{}", Sign(), {}), IsOk()) << code;
  }
}

// A loopback port that nothing listens on: bound (so the OS picks a free
// one) and closed without listen().
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(SignedHttpPosterTest, NoListenerIsTransient) {
  const int port = UnusedPort();
  ASSERT_NE(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/in";
  SignedHttpPoster poster(Options());
  EXPECT_THAT(poster.Post(url, "{}", Sign(), {}), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(SignedHttpPosterTest, OnlyHttpAndHttpsAreSpoken) {
  SignedHttpPoster poster(Options());
  EXPECT_THAT(poster.Post("file:///etc/hostname", "{}", Sign(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("scheme")));
}

// Answers host names from a table (no DNS) and counts the look-ups.
class TableResolver : public Resolver {
 public:
  void Set(const std::string& host, std::vector<std::string> addresses) {
    absl::MutexLock lock(&mu_);
    table_[host] = std::move(addresses);
  }
  int lookups() {
    absl::MutexLock lock(&mu_);
    return lookups_;
  }
  absl::StatusOr<std::vector<IpAddress>> Resolve(const std::string& host) override {
    absl::MutexLock lock(&mu_);
    ++lookups_;
    std::vector<IpAddress> out;
    for (const std::string& a : table_[host]) out.push_back(*IpAddress::Parse(a));
    if (out.empty()) return absl::UnavailableError(host + " does not resolve");
    return out;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::vector<std::string>> table_ ABSL_GUARDED_BY(mu_);
  int lookups_ ABSL_GUARDED_BY(mu_) = 0;
};

// A TCP listener on 127.0.0.1 that accepts connections, counts them and
// closes them at once (an https client then fails its handshake).
class Acceptor {
 public:
  Acceptor() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    EXPECT_EQ(listen(fd_, 8), 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;  // shut down
        close(c);
        absl::MutexLock lock(&mu_);
        ++accepted_;
      }
    });
  }
  ~Acceptor() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  int accepted() {
    absl::MutexLock lock(&mu_);
    return accepted_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  int accepted_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(SignedHttpPosterTest, ConnectsToTheAddressItResolvedAndCheckedOnce) {
  Acceptor acceptor;
  TableResolver resolver;
  resolver.Set("hooks.example.invalid", {"127.0.0.1"});
  SignedHttpPosterOptions o = Options();
  o.resolver = &resolver;
  SignedHttpPoster poster(o);
  const std::string url =
      "https://hooks.example.invalid:" + std::to_string(acceptor.port()) + "/in";
  // The listener speaks no TLS: the handshake fails (transient), but the
  // connection went to the pinned loopback address, not to DNS's answer.
  EXPECT_THAT(poster.Post(url, "{}", Sign(), {}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(acceptor.accepted(), 1);
  EXPECT_EQ(resolver.lookups(), 1);

  // The name now resolves to a private address (DNS rebinding): the next
  // attempt is refused for good before any connection.
  resolver.Set("hooks.example.invalid", {"10.1.2.3"});
  EXPECT_THAT(poster.Post(url, "{}", Sign(), {}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       ::testing::HasSubstr("resolves to 10.1.2.3, a private address")));
  EXPECT_EQ(resolver.lookups(), 2);
  // A public and a metadata address: refused, whichever would be picked.
  resolver.Set("hooks.example.invalid", {"93.184.215.14", "169.254.169.254"});
  EXPECT_THAT(poster.Post(url, "{}", Sign(), {}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       ::testing::HasSubstr("a cloud metadata address")));
  EXPECT_EQ(acceptor.accepted(), 1);
  // A name that does not resolve may later: transient.
  resolver.Set("hooks.example.invalid", {});
  EXPECT_THAT(poster.Post(url, "{}", Sign(), {}), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(SignedHttpPosterTest, RefusedUrlsAreNeverTried) {
  Receiver receiver;
  SignedHttpPosterOptions o = Options();
  o.policy = OutboundPolicy();  // loopback not allowed
  SignedHttpPoster poster(o);
  EXPECT_THAT(
      poster.Post(receiver.url(), "{}", Sign(), {}),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("a loopback address")));
  EXPECT_TRUE(receiver.got().empty());
  // One delivery that is allowed, so the receiver has started listening
  // before it is stopped (cpp-httplib 0.11 cannot stop a server that has not).
  EXPECT_THAT(SignedHttpPoster(Options()).Post(receiver.url(), "{}", Sign(), {}), IsOk());
}

TEST(SignatureHeaderTest, CoversTheTimeTheDeliveryIdAndTheBody) {
  const absl::Time t = absl::FromUnixSeconds(1767225600);
  const std::string body = R"({"alert_id":"alrt_x"})";
  const std::string header = SignatureHeader(kSecret, t, "alrt_x", body);
  // The documented recipe: HMAC-SHA256 over "<t>.<id>.<body>", lower-case hex.
  EXPECT_THAT(header, ::testing::MatchesRegex("t=1767225600,v1=[0-9a-f]{64}"));
  // printf %s "0..what do ya want for nothing?" | openssl dgst -sha256 -hmac Jefe
  EXPECT_EQ(SignatureHeader("Jefe", absl::FromUnixSeconds(0), "", "what do ya want for nothing?"),
            "t=0,v1=c3da84cfbda1b9559b3c271e157a7398c779ab7bfbd8df0892d929cae72e1bf7");
  EXPECT_THAT(VerifySignatureHeader(kSecret, header, "alrt_x", body, t + absl::Minutes(4)), IsOk());
  const auto denied = absl::StatusCode::kPermissionDenied;
  EXPECT_THAT(VerifySignatureHeader("another-secret-0123456789", header, "alrt_x", body, t),
              StatusIs(denied, ::testing::HasSubstr("does not match")));
  EXPECT_THAT(VerifySignatureHeader(kSecret, header, "alrt_y", body, t), StatusIs(denied));
  EXPECT_THAT(VerifySignatureHeader(kSecret, header, "alrt_x", "{}", t), StatusIs(denied));
  // A replay after the tolerance, or a signature from the future.
  EXPECT_THAT(VerifySignatureHeader(kSecret, header, "alrt_x", body, t + absl::Minutes(6)),
              StatusIs(denied, ::testing::HasSubstr("tolerance")));
  EXPECT_THAT(VerifySignatureHeader(kSecret, header, "alrt_x", body, t - absl::Minutes(6)),
              StatusIs(denied));
  // The old format and garbage.
  EXPECT_THAT(VerifySignatureHeader(kSecret, "sha256=00", "alrt_x", body, t),
              StatusIs(denied, ::testing::HasSubstr("malformed")));
  EXPECT_THAT(VerifySignatureHeader(kSecret, "", "alrt_x", body, t), StatusIs(denied));
  // A receiver rotating secrets may list several v1 values.
  const std::string mac = header.substr(header.find("v1="));
  EXPECT_THAT(VerifySignatureHeader(kSecret, "t=1767225600,v1=00," + mac, "alrt_x", body, t),
              IsOk());
}

}  // namespace
}  // namespace dsar::delivery
