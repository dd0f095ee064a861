// CallbackSender: status callbacks from the deliveries table to a real
// loopback HTTP receiver that answers what each test scripts, with the fake
// clock: retries with backoff, permanent rejections, the per-host breaker.
#include "lib/privacy_requests/callbacks.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <thread>

#include "lib/delivery/delivery_rows.h"
#include "tests/testing/status_callback_receiver.h"
#include "tests/unit/privacy_requests/requests_fixture.h"

namespace dsar::privacy_requests {
namespace {

using delivery::delivery_rows::StateCount;
using ::dsar::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::FieldsAre;

// Answers each POST with the next scripted status (204 once the script is
// used up) and counts what it got.
class ScriptedReceiver {
 public:
  ScriptedReceiver() {
    server_.Post("/status", [this](const httplib::Request&, httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      ++posts_;
      res.status = 204;
      if (!script_.empty()) {
        res.status = script_.front();
        script_.pop_front();
      }
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ScriptedReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/status"); }
  void Script(std::deque<int> statuses) {
    absl::MutexLock lock(&mu_);
    script_ = std::move(statuses);
  }
  int posts() {
    absl::MutexLock lock(&mu_);
    return posts_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::deque<int> script_ ABSL_GUARDED_BY(mu_);
  int posts_ ABSL_GUARDED_BY(mu_) = 0;
};

// A loopback port nobody listens on (bound by the OS, then closed again):
// connections to it are refused.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

class CallbackSenderTest : public testing::RequestsTest {
 protected:
  void SetUp() override {
    RequestsTest::SetUp();
    env_.options.callback_secret = "callback-secret-0123456789";
    env_.options.callback_max_attempts = 4;
    env_.options.outbound = *delivery::OutboundPolicy::Create({"127.0.0.0/8"});
  }
  void Enqueue(const std::vector<std::string>& urls, const std::string& tenant = testing::kTenant) {
    ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
      EnqueueCallbacks(txn, tenant, "privacyRequests/pr-1", urls, "{\"state\":1}", clock_.Now());
      return absl::OkStatus();
    }),
                IsOk());
  }
  std::vector<StateCount> Counts() {
    std::vector<StateCount> counts;
    EXPECT_THAT(store_->Read([&](store::ReadTxn& txn) {
      counts = delivery::delivery_rows::CountByState(txn);
      return absl::OkStatus();
    }),
                IsOk());
    return counts;
  }

  ScriptedReceiver receiver_;
};

TEST_F(CallbackSenderTest, RetriesAfterTheBackoffUntilDelivered) {
  CallbackSender sender(&env_);
  receiver_.Script({503, 500});
  Enqueue({receiver_.url()});
  absl::Time next;
  EXPECT_EQ(sender.DeliverDue(10, &next), 1);
  EXPECT_EQ(next, clock_.Now() + absl::Seconds(1));
  EXPECT_EQ(sender.DeliverDue(10, &next), 0);  // not due yet
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(sender.DeliverDue(10, &next), 1);
  EXPECT_EQ(next, clock_.Now() + absl::Seconds(2));
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(sender.DeliverDue(10, &next), 1);
  EXPECT_EQ(next, absl::InfiniteFuture());
  EXPECT_EQ(receiver_.posts(), 3);
  EXPECT_THAT(Counts(), ElementsAre(FieldsAre("callbacks", "delivered", 1)));
}

TEST_F(CallbackSenderTest, APermanentRejectionOrSpentAttemptsGiveUp) {
  CallbackSender sender(&env_);
  receiver_.Script({410});
  Enqueue({receiver_.url()});
  absl::Time next;
  EXPECT_EQ(sender.DeliverDue(10, &next), 1);
  EXPECT_THAT(Counts(), ElementsAre(FieldsAre("callbacks", "failed", 1)));

  receiver_.Script({503, 503, 503, 503, 503});
  Enqueue({receiver_.url()});
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(sender.DeliverDue(10, &next), 1) << i;
    clock_.Advance(absl::Minutes(1));
  }
  EXPECT_EQ(sender.DeliverDue(10, &next), 0);
  EXPECT_EQ(receiver_.posts(), 5);  // 1 + callback_max_attempts
  EXPECT_THAT(Counts(), ElementsAre(FieldsAre("callbacks", "failed", 2)));
}

TEST_F(CallbackSenderTest, AHostThatKeepsFailingIsLeftAloneWithoutSpendingAttempts) {
  env_.options.callback_max_attempts = 0;  // retry until delivered
  CallbackSender sender(&env_);
  // A host nobody listens on (a port just closed) and the live receiver.
  const std::string dead_url = absl::StrCat("http://127.0.0.1:", ClosedPort(), "/status");
  Enqueue({dead_url});
  absl::Time next;
  for (int i = 0; i < 5; ++i) {
    if (i > 0) clock_.Advance(absl::Minutes(10));  // past every backoff
    EXPECT_EQ(sender.DeliverDue(10, &next), 1) << i;
  }
  // The fifth failure opened the host's breaker for 30 s. The dead host's
  // callback comes due again after 16 s: it is postponed to the breaker's
  // end, not tried; another host's callback goes out.
  const absl::Time opened = clock_.Now();
  clock_.Advance(absl::Seconds(16));
  Enqueue({receiver_.url()});
  EXPECT_EQ(sender.DeliverDue(10, &next), 1);
  EXPECT_EQ(receiver_.posts(), 1);
  EXPECT_EQ(next, opened + absl::Seconds(30));
  EXPECT_THAT(Counts(), ElementsAre(FieldsAre("callbacks", "delivered", 1),
                                    FieldsAre("callbacks", "pending", 1)));
  EXPECT_EQ(sender.DeliverDue(10, &next), 0);
  // After the open period one probe goes out (and fails again).
  clock_.SetTime(opened + absl::Seconds(30));
  EXPECT_EQ(sender.DeliverDue(10, &next), 1);
  EXPECT_THAT(Counts(), ElementsAre(FieldsAre("callbacks", "delivered", 1),
                                    FieldsAre("callbacks", "pending", 1)));
}

TEST_F(CallbackSenderTest, EachTenantSignsWithItsOwnSecret) {
  // tenant-b has a secret of its own; kTenant uses requests.callback_secret_file's.
  const std::string b_secret = "tenant-b-callback-secret-0123456789";
  env_.options.tenant_callbacks["tenant-b"].secret = b_secret;
  ::dsar::testing::StatusCallbackReceiver a(env_.options.callback_secret, &clock_);
  ::dsar::testing::StatusCallbackReceiver b(b_secret, &clock_);
  CallbackSender sender(&env_);
  Enqueue({a.url()});
  Enqueue({b.url(), a.url()}, "tenant-b");
  absl::Time next;
  EXPECT_EQ(sender.DeliverDue(10, &next), 3);
  EXPECT_EQ(a.bodies().size(), 1u);  // kTenant's
  EXPECT_EQ(b.bodies().size(), 1u);  // tenant-b's, under its own secret
  EXPECT_EQ(a.forged(), 1);          // tenant-b's does not verify under kTenant's secret
  EXPECT_EQ(b.forged(), 0);
}

TEST(CallbackHostTest, IsTheLowerCasedAuthority) {
  EXPECT_EQ(CallbackHost("https://Hooks.Example.invalid:8443/a/b?c"), "hooks.example.invalid:8443");
  EXPECT_EQ(CallbackHost("http://127.0.0.1:9/x"), "127.0.0.1:9");
  EXPECT_EQ(CallbackHost("https://example.invalid"), "example.invalid:443");
}

}  // namespace
}  // namespace dsar::privacy_requests
