// Alert delivery: signed webhooks to a real loopback HTTP receiver, retries
// with backoff, permanent rejections, and delivery state across restarts.
#include "lib/deadline/alert_forwarder.h"

#include <nlohmann/json.hpp>

#include "lib/deadline/scheduler.h"
#include "lib/deadline/webhook_sink.h"
#include "tests/testing/crashing_store.h"
#include "tests/unit/deadline/deadline_fixture.h"
#include "tests/unit/deadline/webhook_receiver.h"

namespace dsar::deadline {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::HasSubstr;
using testing::kTenant;
using testing::WebhookReceiver;

constexpr char kSecret[] = "test-secret-0123456789abcdef";

// A webhook's options; its receivers run on loopback, which the policy
// allows.
WebhookOptions Hook(std::string name, std::string url, std::string secret) {
  WebhookOptions o{std::move(name), std::move(url), std::move(secret)};
  o.policy = *delivery::OutboundPolicy::Create({"127.0.0.0/8"});
  return o;
}

class AlertForwarderTest : public testing::DeadlineTest {
 protected:
  std::unique_ptr<AlertForwarder> NewForwarder(const std::string& secret,
                                               AlertForwarderOptions options = {}) {
    std::vector<std::unique_ptr<AlertSink>> sinks;
    sinks.push_back(std::make_unique<LogSink>());
    auto webhook = WebhookSink::Create(Hook("oncall", receiver_.url(), secret));
    EXPECT_THAT(webhook, IsOk());
    if (webhook.ok()) sinks.push_back(std::move(*webhook));
    return std::make_unique<AlertForwarder>(*store_, clock_, std::move(sinks), options);
  }

  // Fires `n` alerts (a "T-4h" each) with deliveries for `sinks`.
  void FireAlerts(int n, const std::vector<std::string>& sinks) {
    SchedulerOptions options;
    options.sinks = sinks;
    Scheduler scheduler(*store_, clock_, *deadlines_, options);
    for (int i = 0; i < n; ++i) {
      ASSERT_THAT(Schedule(absl::StrCat("breaches/br-", i), kBreachControllerNotification,
                           clock_.Now() - absl::Hours(70)),
                  IsOk());
    }
    auto fired = scheduler.RunDue();
    ASSERT_THAT(fired, IsOk());
    ASSERT_EQ(*fired, n);
  }

  int64_t Deliveries(const std::string& sink, const std::string& state) {
    return CountRows(absl::StrCat(
        "SELECT COALESCE(SUM(n), 0) FROM deadline_alert_delivery_counts WHERE sink = '", sink,
        "' AND state = '", state, "'"));
  }

  WebhookReceiver receiver_{kSecret};
};

TEST(WebhookSinkTest, RejectsBadUrlsAndShortSecrets) {
  EXPECT_THAT(WebhookSink::Create(Hook("x", "ftp://127.0.0.1/", kSecret)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(WebhookSink::Create(Hook("x", "http://127.0.0.1/", "short")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(WebhookSink::Create(Hook("", "http://127.0.0.1/", kSecret)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(WebhookSink::Create(Hook("x", "http://127.0.0.1:80@evil.example.invalid/", kSecret)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("user information")));
  // Loopback only when the policy allows it.
  EXPECT_THAT(WebhookSink::Create({"x", "http://127.0.0.1/", kSecret}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a loopback address")));
}

TEST_F(AlertForwarderTest, SignedWebhookReachesALoopbackReceiver) {
  auto forwarder = NewForwarder(kSecret);
  FireAlerts(1, forwarder->sink_names());
  auto n = forwarder->RunOnce();
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, 2);  // log + webhook
  const auto hooks = receiver_.hooks();
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_TRUE(hooks[0].signature_valid);
  EXPECT_EQ(hooks[0].answered, 204);
  EXPECT_EQ(hooks[0].attempt_header, "1");
  const std::vector<Alert> alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(hooks[0].alert_id_header, alerts[0].alert_id);
  EXPECT_EQ(hooks[0].body, alerts[0].payload);
  auto body = nlohmann::json::parse(hooks[0].body);
  EXPECT_EQ(body["alert_id"], alerts[0].alert_id);
  EXPECT_EQ(body["tenant"], kTenant);
  EXPECT_EQ(body["kind"], kBreachControllerNotification);
  EXPECT_EQ(body["level"], "WARNING");
  EXPECT_EQ(body["level_label"], "T-4h");
  EXPECT_EQ(Deliveries("webhook:oncall", "delivered"), 1);
  EXPECT_EQ(Deliveries("log", "delivered"), 1);
  EXPECT_EQ(forwarder->stats().delivered, 2);
}

TEST_F(AlertForwarderTest, PayloadIsValidJsonForAnyResourceName) {
  const std::string odd = "privacyRequests/\"quoted\"\\back\nline\x01\u00e5";
  ASSERT_THAT(Schedule(odd, kBreachControllerNotification, clock_.Now() - absl::Hours(70)), IsOk());
  Scheduler scheduler(*store_, clock_, *deadlines_, {});
  ASSERT_THAT(scheduler.RunDue(), IsOk());
  const std::vector<Alert> alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  auto body = nlohmann::json::parse(alerts[0].payload);
  EXPECT_EQ(body["resource"], odd);
  EXPECT_EQ(body["offset_seconds"], -4 * 3600);
  EXPECT_EQ(body["due_version"], 1);
  EXPECT_EQ(body["fired_time"], "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(body["due_time"], "2026-01-01T02:00:00.000000Z");
}

TEST_F(AlertForwarderTest, WrongSecretFailsTheReceiversCheckAndStaysPending) {
  auto forwarder = NewForwarder("not-the-receivers-secret-42");
  FireAlerts(1, forwarder->sink_names());
  ASSERT_THAT(forwarder->RunOnce(), IsOk());
  const auto hooks = receiver_.hooks();
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_FALSE(hooks[0].signature_valid);
  EXPECT_EQ(hooks[0].answered, 401);
  EXPECT_EQ(Deliveries("webhook:oncall", "pending"), 1);
  EXPECT_EQ(Deliveries("webhook:oncall", "delivered"), 0);
  EXPECT_EQ(CountRows("SELECT attempts FROM deliveries "
                      "WHERE channel = 'alerts/webhook:oncall'"),
            1);
  EXPECT_EQ(forwarder->stats().retried, 1);
}

TEST_F(AlertForwarderTest, ReceiverDownIsRetriedWithBackoffAndEachAlertDeliveredOnce) {
  AlertForwarderOptions options;
  options.initial_backoff = absl::Seconds(10);
  auto forwarder = NewForwarder(kSecret, options);
  FireAlerts(3, forwarder->sink_names());
  receiver_.Script({503, 503});
  ASSERT_THAT(forwarder->RunOnce(), IsOk());
  EXPECT_EQ(receiver_.hooks().size(), 1u);  // the sink backs off after one failure
  ASSERT_THAT(forwarder->RunOnce(), IsOk());
  EXPECT_EQ(receiver_.hooks().size(), 1u);  // still backing off
  clock_.Advance(absl::Seconds(13));        // > 10 s * 1.25 jitter
  ASSERT_THAT(forwarder->RunOnce(), IsOk());
  EXPECT_EQ(receiver_.hooks().size(), 2u);  // the second 503
  clock_.Advance(absl::Seconds(26));        // > 20 s * 1.25
  ASSERT_THAT(forwarder->RunOnce(), IsOk());
  const auto hooks = receiver_.hooks();
  ASSERT_EQ(hooks.size(), 5u);
  std::set<std::string> delivered;
  for (const auto& h : hooks) {
    EXPECT_TRUE(h.signature_valid);
    if (h.answered == 204) {
      EXPECT_TRUE(delivered.insert(h.alert_id_header).second);
    }
  }
  EXPECT_EQ(delivered.size(), 3u);
  // The first alert was tried twice (attempt 1 got a 503), the second too.
  std::vector<std::string> attempts_of_first;
  for (const auto& h : hooks) {
    if (h.alert_id_header == hooks[0].alert_id_header)
      attempts_of_first.push_back(h.attempt_header);
  }
  EXPECT_THAT(attempts_of_first, ::testing::ElementsAre("1", "2"));
  EXPECT_EQ(Deliveries("webhook:oncall", "delivered"), 3);
  EXPECT_EQ(Deliveries("log", "delivered"), 3);
}

TEST_F(AlertForwarderTest, AnAlertTheReceiverRejectsIsNotRetried) {
  auto forwarder = NewForwarder(kSecret);
  FireAlerts(1, forwarder->sink_names());
  receiver_.Script({422});
  ASSERT_THAT(forwarder->RunOnce(), IsOk());
  clock_.Advance(absl::Hours(1));
  ASSERT_THAT(forwarder->RunOnce(), IsOk());
  EXPECT_EQ(receiver_.hooks().size(), 1u);
  EXPECT_EQ(Deliveries("webhook:oncall", "failed"), 1);
  EXPECT_EQ(forwarder->stats().failed, 1);
}

TEST_F(AlertForwarderTest, APassOfManyDeliveriesIsRecordedExactly) {
  // 150 alerts: the log sink takes them in one pass (multi-row updates of 64,
  // 64, 16, 4 and 2 rows), the webhook in passes of 100.
  auto forwarder = NewForwarder(kSecret);
  FireAlerts(150, forwarder->sink_names());
  auto n = forwarder->RunOnce();
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, 300);
  EXPECT_EQ(Deliveries("log", "delivered"), 150);
  EXPECT_EQ(Deliveries("webhook:oncall", "delivered"), 150);
  // Delivered at the first attempt: counted by the sinks' cursors, no rows.
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM deliveries"), 0);
  const auto hooks = receiver_.hooks();
  ASSERT_EQ(hooks.size(), 150u);
  std::set<std::string> ids;
  for (const auto& h : hooks) {
    EXPECT_TRUE(h.signature_valid);
    ids.insert(h.alert_id_header);
  }
  EXPECT_EQ(ids.size(), 150u);
  // Nothing left: a second pass delivers nothing.
  auto again = forwarder->RunOnce();
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, 0);
}

TEST_F(AlertForwarderTest, PendingDeliveriesSurviveARestart) {
  {
    auto forwarder = NewForwarder(kSecret);
    FireAlerts(2, forwarder->sink_names());
  }
  ReopenStore();
  auto forwarder = NewForwarder(kSecret);
  ASSERT_THAT(forwarder->RunOnce(), IsOk());
  EXPECT_EQ(receiver_.hooks().size(), 2u);
  EXPECT_EQ(Deliveries("webhook:oncall", "delivered"), 2);
}

TEST_F(AlertForwarderTest, BackgroundThreadsDeliverWhenTheSchedulerFires) {
  auto forwarder = NewForwarder(kSecret);
  SchedulerOptions options;
  options.sinks = forwarder->sink_names();
  Scheduler scheduler(*store_, clock_, *deadlines_, options);
  scheduler.AddListener(forwarder.get());
  forwarder->Start();
  scheduler.Start();
  ASSERT_THAT(
      Schedule("breaches/br-bg", kBreachControllerNotification, clock_.Now() - absl::Hours(70)),
      IsOk());
  ASSERT_TRUE(receiver_.WaitForHooks(1, absl::Seconds(30)));
  scheduler.Stop();
  forwarder->Stop();
  EXPECT_TRUE(receiver_.hooks()[0].signature_valid);
}

// Records the seq of every alert handed to it, ten per pass.
class RecordingSink final : public AlertSink {
 public:
  explicit RecordingSink(std::vector<int64_t>* seqs) : seqs_(seqs) {}
  const std::string& name() const override { return name_; }
  absl::Status Deliver(const AlertDelivery& d) override {
    seqs_->push_back(d.seq);
    return absl::OkStatus();
  }
  int max_batch() const override { return 10; }
  bool needs_payload() const override { return false; }

 private:
  const std::string name_ = "rec";
  std::vector<int64_t>* seqs_;
};

TEST_F(AlertForwarderTest, APipelinedRecordThatFailsEndsTheRunAndNothingIsSkipped) {
  FireAlerts(50, {"rec"});
  const int64_t first = CountRows("SELECT MIN(seq) FROM deadline_alerts");
  std::vector<int64_t> run1, run2;
  {
    // Passes of ten fresh alerts, all delivered: each pass's record is
    // queued without waiting. The third record fails (as if the writer's
    // disk did); the records after it go through.
    ::dsar::testing::CrashingStore crashing(*store_);
    std::vector<std::unique_ptr<AlertSink>> sinks;
    sinks.push_back(std::make_unique<RecordingSink>(&run1));
    AlertForwarder forwarder(crashing, clock_, std::move(sinks), {});
    crashing.FailWriteAfter(2);
    EXPECT_THAT(forwarder.RunOnce(), StatusIs(absl::StatusCode::kUnavailable));
  }
  // Delivered in order from the first alert on, at least the three passes.
  ASSERT_GE(run1.size(), 30u);
  for (size_t i = 0; i < run1.size(); ++i) EXPECT_EQ(run1[i], first + static_cast<int64_t>(i));
  // The cursor never passes an alert that was not handed to the sink.
  const int64_t cursor =
      CountRows("SELECT delivered_seq FROM deadline_alert_sinks WHERE sink = 'rec'");
  EXPECT_GE(cursor, first + 19);  // passes 1 and 2 recorded
  EXPECT_LE(cursor, run1.back());

  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(std::make_unique<RecordingSink>(&run2));
  AlertForwarder forwarder(*store_, clock_, std::move(sinks), {});
  auto n = forwarder.RunOnce();
  ASSERT_THAT(n, IsOk());
  // The next run goes on from the stored cursor: what was not recorded is
  // delivered again (at least once), nothing is skipped.
  ASSERT_EQ(run2.size(), static_cast<size_t>(first + 49 - cursor));
  for (size_t i = 0; i < run2.size(); ++i) {
    EXPECT_EQ(run2[i], cursor + 1 + static_cast<int64_t>(i));
  }
  EXPECT_EQ(CountRows("SELECT delivered_seq FROM deadline_alert_sinks WHERE sink = 'rec'"),
            first + 49);
  EXPECT_EQ(Deliveries("rec", "pending"), 0);
  EXPECT_EQ(forwarder.RunOnce().value_or(-1), 0);
}

}  // namespace
}  // namespace dsar::deadline
