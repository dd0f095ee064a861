// WebhookSink: POSTs each alert's JSON to an HTTP(S) endpoint, signed.
//
// Headers: Content-Type: application/json; X-Dsar-Alert-Id: <alert id>;
// X-Dsar-Delivery-Attempt: <n>; X-Dsar-Signature: sha256=<hex HMAC-SHA256 of
// the exact body under the shared secret>. A 2xx answer is a delivery; 400,
// 409, 410, 413, 415 and 422 reject the alert for good; anything else
// (connection errors, timeouts, 401/403 from a misconfigured secret, 429, 5xx)
// is retried by the forwarder. Redirects are not followed; only http and
// https are allowed. Deliver() is called by one thread at a time (the
// forwarder's thread for this sink); the curl handle is reused for keep-alive.
#ifndef DSAR_LIB_DEADLINE_WEBHOOK_SINK_H_
#define DSAR_LIB_DEADLINE_WEBHOOK_SINK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/deadline/alert_sink.h"

namespace dsar::deadline {

struct WebhookOptions {
  std::string name;    // sink name suffix: the sink is called "webhook:<name>"
  std::string url;     // http(s)://host[:port]/path
  std::string secret;  // HMAC key, at least 16 bytes
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration connect_timeout = absl::Seconds(3);
};

class WebhookSink final : public AlertSink {
 public:
  // INVALID_ARGUMENT for a bad URL, name or secret.
  static absl::StatusOr<std::unique_ptr<WebhookSink>> Create(WebhookOptions options);
  ~WebhookSink() override;

  const std::string& name() const override { return name_; }
  absl::Status Deliver(const AlertDelivery& delivery) override;

 private:
  explicit WebhookSink(WebhookOptions options);
  const WebhookOptions options_;
  const std::string name_;
  absl::Mutex mu_;
  void* curl_ ABSL_GUARDED_BY(mu_) = nullptr;  // CURL*
};

// "sha256=<64 lower-case hex digits>" for `body` under `secret`.
std::string WebhookSignature(absl::string_view secret, absl::string_view body);

// Constant-time check of a received X-Dsar-Signature header value.
bool VerifyWebhookSignature(absl::string_view secret, absl::string_view body,
                            absl::string_view header_value);

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_WEBHOOK_SINK_H_
