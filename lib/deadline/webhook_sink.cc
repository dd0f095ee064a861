#include "lib/deadline/webhook_sink.h"

#include <curl/curl.h>
#include <sodium.h>

#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dsar::deadline {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sodium_init() < 0) std::abort();
  });
}

size_t DiscardBody(char*, size_t size, size_t n, void*) { return size * n; }

bool PermanentRejection(long code) {
  return code == 400 || code == 409 || code == 410 || code == 413 || code == 415 || code == 422;
}

}  // namespace

std::string WebhookSignature(absl::string_view secret, absl::string_view body) {
  GlobalInit();
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return absl::StrCat("sha256=", hex);
}

bool VerifyWebhookSignature(absl::string_view secret, absl::string_view body,
                            absl::string_view header_value) {
  const std::string expected = WebhookSignature(secret, body);
  const std::string got = absl::AsciiStrToLower(header_value);
  return got.size() == expected.size() &&
         sodium_memcmp(got.data(), expected.data(), expected.size()) == 0;
}

absl::StatusOr<std::unique_ptr<WebhookSink>> WebhookSink::Create(WebhookOptions options) {
  if (options.name.empty()) return absl::InvalidArgumentError("webhook name is required");
  if (!absl::StartsWith(options.url, "http://") && !absl::StartsWith(options.url, "https://")) {
    return absl::InvalidArgumentError("webhook url must start with http:// or https://");
  }
  if (options.secret.size() < 16) {
    return absl::InvalidArgumentError("webhook secret must be at least 16 bytes");
  }
  GlobalInit();
  std::unique_ptr<WebhookSink> sink(new WebhookSink(std::move(options)));
  absl::MutexLock lock(&sink->mu_);
  sink->curl_ = curl_easy_init();
  if (sink->curl_ == nullptr) return absl::InternalError("curl_easy_init failed");
  return sink;
}

WebhookSink::WebhookSink(WebhookOptions options)
    : options_(std::move(options)), name_(absl::StrCat("webhook:", options_.name)) {}

WebhookSink::~WebhookSink() {
  absl::MutexLock lock(&mu_);
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

absl::Status WebhookSink::Deliver(const AlertDelivery& d) {
  absl::MutexLock lock(&mu_);
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);  // keeps the connection cache
  const std::string signature = WebhookSignature(options_.secret, d.payload);
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, absl::StrCat("X-Dsar-Alert-Id: ", d.alert_id).c_str());
  headers =
      curl_slist_append(headers, absl::StrCat("X-Dsar-Delivery-Attempt: ", d.attempt).c_str());
  headers = curl_slist_append(headers, absl::StrCat("X-Dsar-Signature: ", signature).c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, d.payload.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(d.payload.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "dsard-webhook/1");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &DiscardBody);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("webhook ", name_, ": ", curl_easy_strerror(rc)));
  }
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 200 && code < 300) return absl::OkStatus();
  if (PermanentRejection(code)) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook ", name_, " rejected the alert with HTTP ", code));
  }
  return absl::UnavailableError(absl::StrCat("webhook ", name_, " answered HTTP ", code));
}

}  // namespace dsar::deadline
