#include "lib/deadline/webhook_sink.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dsar::deadline {

absl::StatusOr<std::unique_ptr<WebhookSink>> WebhookSink::Create(WebhookOptions options) {
  if (options.name.empty()) return absl::InvalidArgumentError("webhook name is required");
  if (absl::StatusOr<delivery::OutboundUrl> url = options.policy.Check(options.url); !url.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("webhook url ", url.status().message()));
  }
  if (options.secret.size() < 16) {
    return absl::InvalidArgumentError("webhook secret must be at least 16 bytes");
  }
  return std::unique_ptr<WebhookSink>(new WebhookSink(std::move(options)));
}

WebhookSink::WebhookSink(WebhookOptions options)
    : options_(std::move(options)),
      name_(absl::StrCat("webhook:", options_.name)),
      poster_({options_.timeout, options_.connect_timeout, "dsard-webhook/1", options_.policy,
               options_.resolver, options_.clock}) {}

absl::Status WebhookSink::Deliver(const AlertDelivery& d) {
  absl::Status s = poster_.Post(
      options_.url, d.payload, {options_.secret, d.alert_id},
      {{"X-Dsar-Alert-Id", d.alert_id}, {"X-Dsar-Delivery-Attempt", absl::StrCat(d.attempt)}});
  if (s.ok()) return s;
  if (s.code() == absl::StatusCode::kInvalidArgument) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook ", name_, " rejected the alert with ", s.message()));
  }
  if (s.code() == absl::StatusCode::kPermissionDenied) {
    return absl::PermissionDeniedError(absl::StrCat("webhook ", name_, ": ", s.message()));
  }
  return absl::UnavailableError(absl::StrCat("webhook ", name_, ": ", s.message()));
}

}  // namespace dsar::deadline
