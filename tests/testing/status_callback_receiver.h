// StatusCallbackReceiver: a real HTTP receiver on 127.0.0.1 (cpp-httplib, port
// picked by the OS) for privacy-request status callbacks. It checks
// X-Dsar-Signature as a controller would (docs/privacy-requests.md: t=...,v1=...
// over the time, X-Dsar-Callback-Id and the body, at most 5 minutes off its
// clock; a forgery is answered 401 and not recorded), answers a callback id
// it has seen before 204 without recording it again (a replay or a
// retry), records each callback's JSON body, and lets tests wait for a
// request to reach a state (condition variable), never sleeping.
#ifndef DSAR_TESTS_TESTING_STATUS_CALLBACK_RECEIVER_H_
#define DSAR_TESTS_TESTING_STATUS_CALLBACK_RECEIVER_H_

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/clock.h"
#include "lib/delivery/signed_http_poster.h"

namespace dsar::testing {

class StatusCallbackReceiver {
 public:
  // `clock` (not owned) is what signature times are checked against; null:
  // the system clock (a dsard in-process on a FakeClock: set_clock).
  explicit StatusCallbackReceiver(std::string secret, Clock* clock = nullptr)
      : secret_(std::move(secret)), clock_(clock != nullptr ? clock : SystemClock::Default()) {
    server_.Post("/dsr/status", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string id = req.get_header_value("X-Dsar-Callback-Id");
      absl::MutexLock lock(&mu_);
      if (id.empty() ||
          !delivery::VerifySignatureHeader(secret_, req.get_header_value("X-Dsar-Signature"), id,
                                           req.body, clock_->Now())
               .ok()) {
        ++forged_;
        res.status = 401;
        return;
      }
      res.status = 204;
      if (!seen_ids_.insert(id).second) {
        ++repeats_;
        return;
      }
      bodies_.push_back(nlohmann::json::parse(req.body, nullptr, false));
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
  int repeats() {
    absl::MutexLock lock(&mu_);
    return repeats_;
  }
  void set_clock(Clock* clock) {
    absl::MutexLock lock(&mu_);
    clock_ = clock;
  }

 private:
  const std::string secret_;
  Clock* clock_ ABSL_GUARDED_BY(mu_);
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<nlohmann::json> bodies_ ABSL_GUARDED_BY(mu_);
  int forged_ ABSL_GUARDED_BY(mu_) = 0;
  int repeats_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<std::string> seen_ids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_STATUS_CALLBACK_RECEIVER_H_
