// WebhookSink: POSTs each alert's JSON to an HTTP(S) endpoint, signed.
//
// The POST is delivery::SignedHttpPoster's (Content-Type, X-Dsar-Signature
// t=...,v1=... over the time, the alert id and the body under this sink's
// secret, no redirects, keep-alive) with X-Dsar-Alert-Id: <alert id> and
// X-Dsar-Delivery-Attempt: <n>. A 2xx answer is a delivery; a permanent
// rejection (delivery::IsPermanentRejection: 400, 404, 409, 410, 413, 415,
// 422) is INVALID_ARGUMENT and fails the alert for good; anything else
// (connection errors, timeouts, 401/403 from a misconfigured secret, 408,
// 429, 5xx) is UNAVAILABLE and retried by the forwarder. The URL obeys
// delivery::OutboundPolicy (checked at Create, its host pinned at each
// attempt): an address now refused fails the alert for this sink for good. Deliver() is called
// by one thread at a time (the forwarder's thread for this sink).
#ifndef DSAR_LIB_DEADLINE_WEBHOOK_SINK_H_
#define DSAR_LIB_DEADLINE_WEBHOOK_SINK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/deadline/alert_sink.h"
#include "lib/delivery/signed_http_poster.h"

namespace dsar::deadline {

struct WebhookOptions {
  std::string name;    // sink name suffix: the sink is called "webhook:<name>"
  std::string url;     // http(s)://host[:port]/path
  std::string secret;  // HMAC key, at least 16 bytes
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration connect_timeout = absl::Seconds(3);
  delivery::OutboundPolicy policy;         // which addresses the URL may reach
  delivery::Resolver* resolver = nullptr;  // not owned; null: the system's
  Clock* clock = nullptr;                  // signature times; null: the system's
};

class WebhookSink final : public AlertSink {
 public:
  // INVALID_ARGUMENT for a bad URL, name or secret.
  static absl::StatusOr<std::unique_ptr<WebhookSink>> Create(WebhookOptions options);

  const std::string& name() const override { return name_; }
  absl::Status Deliver(const AlertDelivery& delivery) override;

 private:
  explicit WebhookSink(WebhookOptions options);
  const WebhookOptions options_;
  const std::string name_;
  delivery::SignedHttpPoster poster_;
};

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_WEBHOOK_SINK_H_
