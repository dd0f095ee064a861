// StatusCallbackReceiver: a real HTTP receiver on 127.0.0.1 (cpp-httplib, port
// picked by the OS) for privacy-request status callbacks. It checks
// X-Dsar-Signature as a controller would (a forgery is answered 401 and not
// recorded), records each callback's JSON body, and lets tests wait for a
// request to reach a state (condition variable), never sleeping.
#ifndef DSAR_TESTS_TESTING_STATUS_CALLBACK_RECEIVER_H_
#define DSAR_TESTS_TESTING_STATUS_CALLBACK_RECEIVER_H_

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/delivery/signed_http_poster.h"

namespace dsar::testing {

class StatusCallbackReceiver {
 public:
  explicit StatusCallbackReceiver(std::string secret) : secret_(std::move(secret)) {
    server_.Post("/dsr/status", [this](const httplib::Request& req, httplib::Response& res) {
      if (!delivery::VerifyWebhookSignature(secret_, req.body,
                                            req.get_header_value("X-Dsar-Signature"))) {
        absl::MutexLock lock(&mu_);
        ++forged_;
        res.status = 401;
        return;
      }
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      absl::MutexLock lock(&mu_);
      bodies_.push_back(body);
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~StatusCallbackReceiver() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/dsr/status"; }

  // Waits until a callback says `request_name` is in `state` (e.g. "COMPLETED").
  bool WaitForState(const std::string& request_name, const std::string& state,
                    absl::Duration timeout = absl::Seconds(30)) {
    absl::MutexLock lock(&mu_);
    auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const auto& b : bodies_) {
        if (b.is_object() && b.value("subject_request_id", "") == request_name &&
            b.value("state", "") == state) {
          return true;
        }
      }
      return false;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
  }

  // States reported for `request_name`, in arrival order.
  std::vector<std::string> States(const std::string& request_name) {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const auto& b : bodies_) {
      if (b.is_object() && b.value("subject_request_id", "") == request_name) {
        out.push_back(b.value("state", ""));
      }
    }
    return out;
  }
  std::vector<nlohmann::json> bodies() {
    absl::MutexLock lock(&mu_);
    return bodies_;
  }
  int forged() {
    absl::MutexLock lock(&mu_);
    return forged_;
  }

 private:
  const std::string secret_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<nlohmann::json> bodies_ ABSL_GUARDED_BY(mu_);
  int forged_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_STATUS_CALLBACK_RECEIVER_H_
