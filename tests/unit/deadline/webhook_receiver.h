// A real HTTP webhook receiver on 127.0.0.1 (cpp-httplib, port picked by the
// OS) that checks X-Dsar-Signature like a production receiver would (t=...,v1=...
// over the time, X-Dsar-Alert-Id and the body; at most 5 minutes off its
// clock), records
// what it got, and answers with scripted status codes. Tests wait on its
// counters (condition variable), never on sleeps.
#ifndef DSAR_TESTS_UNIT_DEADLINE_WEBHOOK_RECEIVER_H_
#define DSAR_TESTS_UNIT_DEADLINE_WEBHOOK_RECEIVER_H_

#include <httplib.h>

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/clock.h"
#include "lib/delivery/signed_http_poster.h"

namespace dsar::deadline::testing {

struct ReceivedHook {
  std::string alert_id_header;
  std::string attempt_header;
  std::string body;
  bool signature_valid = false;
  int answered = 0;
};

class WebhookReceiver {
 public:
  // `clock` (not owned) is what signature times are checked against; null:
  // the system clock.
  explicit WebhookReceiver(std::string secret, Clock* clock = nullptr)
      : secret_(std::move(secret)), clock_(clock != nullptr ? clock : SystemClock::Default()) {
    server_.Post("/hooks/dsar", [this](const httplib::Request& req, httplib::Response& res) {
      ReceivedHook hook;
      hook.alert_id_header = req.get_header_value("X-Dsar-Alert-Id");
      hook.attempt_header = req.get_header_value("X-Dsar-Delivery-Attempt");
      hook.body = req.body;
      hook.signature_valid =
          delivery::VerifySignatureHeader(secret_, req.get_header_value("X-Dsar-Signature"),
                                          hook.alert_id_header, req.body, clock_->Now())
              .ok();
      absl::MutexLock lock(&mu_);
      int status = 204;
      if (!hook.signature_valid) {
        status = 401;  // a receiver that checks signatures refuses forgeries
      } else if (!script_.empty()) {
        status = script_.front();
        script_.pop_front();
      }
      // Optionally hold the request open until released (crash tests).
      if (hold_next_) {
        hold_next_ = false;
        held_ = true;
        mu_.Await(absl::Condition(&released_));
      }
      hook.answered = status;
      hooks_.push_back(std::move(hook));
      res.status = status;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~WebhookReceiver() {
    Release();
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hooks/dsar"; }

  // The next valid requests are answered with these codes (then 204).
  void Script(std::vector<int> codes) {
    absl::MutexLock lock(&mu_);
    script_.assign(codes.begin(), codes.end());
  }
  // Holds the next request until Release().
  void HoldNext() {
    absl::MutexLock lock(&mu_);
    hold_next_ = true;
  }
  bool WaitUntilHolding(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&held_), timeout);
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }
  // Waits until `n` requests were answered.
  bool WaitForHooks(size_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return hooks_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  std::vector<ReceivedHook> hooks() {
    absl::MutexLock lock(&mu_);
    return hooks_;
  }

 private:
  const std::string secret_;
  Clock* const clock_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<ReceivedHook> hooks_ ABSL_GUARDED_BY(mu_);
  std::deque<int> script_ ABSL_GUARDED_BY(mu_);
  bool hold_next_ ABSL_GUARDED_BY(mu_) = false;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dsar::deadline::testing

#endif  // DSAR_TESTS_UNIT_DEADLINE_WEBHOOK_RECEIVER_H_
