#include "lib/delivery/signed_http_poster.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace dsar::delivery {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sodium_init() < 0) std::abort();
  });
}

size_t DiscardBody(char*, size_t size, size_t n, void*) { return size * n; }

// What the socket callback checks: libcurl may open sockets only to the
// pinned address.
struct SocketGuard {
  const IpAddress* pinned;
  bool refused = false;
};

curl_socket_t OpenPinnedSocket(void* data, curlsocktype purpose, struct curl_sockaddr* address) {
  auto* guard = static_cast<SocketGuard*>(data);
  std::optional<IpAddress> to;
  if (address->family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&address->addr);
    std::array<uint8_t, 4> b;
    std::memcpy(b.data(), &sin->sin_addr, 4);
    to = IpAddress::V4(b);
  } else if (address->family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&address->addr);
    std::array<uint8_t, 16> b;
    std::memcpy(b.data(), &sin6->sin6_addr, 16);
    to = IpAddress::V6(b);
  }
  if (purpose != CURLSOCKTYPE_IPCXN || !to.has_value() || !(*to == *guard->pinned)) {
    guard->refused = true;
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

}  // namespace

bool IsPermanentRejection(int http_status) {
  switch (http_status) {
    case 400:  // Bad Request
    case 404:  // Not Found: the endpoint is gone
    case 409:  // Conflict
    case 410:  // Gone
    case 413:  // Payload Too Large
    case 415:  // Unsupported Media Type
    case 422:  // Unprocessable Content
      return true;
    default:
      return false;
  }
}

namespace {

// Hex HMAC-SHA256 of "<t>.<delivery id>.<body>".
std::string SignedPayloadMac(absl::string_view secret, int64_t t, absl::string_view delivery_id,
                             absl::string_view body) {
  GlobalInit();
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  auto update = [&](absl::string_view part) {
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(part.data()),
                                  part.size());
  };
  update(absl::StrCat(t, ".", delivery_id, "."));
  update(body);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return hex;
}

}  // namespace

std::string SignatureHeader(absl::string_view secret, absl::Time at, absl::string_view delivery_id,
                            absl::string_view body) {
  const int64_t t = absl::ToUnixSeconds(at);
  return absl::StrCat("t=", t, ",v1=", SignedPayloadMac(secret, t, delivery_id, body));
}

absl::Status VerifySignatureHeader(absl::string_view secret, absl::string_view header_value,
                                   absl::string_view delivery_id, absl::string_view body,
                                   absl::Time now, absl::Duration tolerance) {
  std::optional<int64_t> t;
  std::vector<absl::string_view> macs;
  for (absl::string_view part : absl::StrSplit(header_value, ',')) {
    part = absl::StripAsciiWhitespace(part);
    int64_t value = 0;
    if (absl::ConsumePrefix(&part, "t=") && !t.has_value() && absl::SimpleAtoi(part, &value)) {
      t = value;
    } else if (absl::ConsumePrefix(&part, "v1=")) {
      macs.push_back(part);
    }
  }
  if (!t.has_value() || macs.empty()) {
    return absl::PermissionDeniedError("malformed signature: want t=<seconds>,v1=<hex>");
  }
  if (absl::AbsDuration(now - absl::FromUnixSeconds(*t)) > tolerance) {
    return absl::PermissionDeniedError("signature timestamp outside the tolerance");
  }
  const std::string expected = SignedPayloadMac(secret, *t, delivery_id, body);
  for (absl::string_view mac : macs) {
    if (mac.size() == expected.size() &&
        sodium_memcmp(mac.data(), expected.data(), expected.size()) == 0) {
      return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError("signature does not match");
}

SignedHttpPoster::SignedHttpPoster(SignedHttpPosterOptions options) : options_(std::move(options)) {
  GlobalInit();
  absl::MutexLock lock(&mu_);
  curl_ = curl_easy_init();
}

SignedHttpPoster::~SignedHttpPoster() {
  absl::MutexLock lock(&mu_);
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

absl::Status SignedHttpPoster::Post(absl::string_view url, absl::string_view body,
                                    const Signing& signing, const Headers& extra_headers) {
  Resolver& resolver =
      options_.resolver != nullptr ? *options_.resolver : *SystemResolver::Default();
  absl::StatusOr<PinnedUrl> pinned = options_.policy.Pin(url, resolver);
  if (!pinned.ok()) return pinned.status();
  absl::MutexLock lock(&mu_);
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return absl::UnavailableError("curl_easy_init failed");
  curl_easy_reset(curl);  // keeps the connection cache
  const std::string& url_string = pinned->target.url;
  struct curl_slist* resolve = nullptr;
  if (!pinned->target.literal.has_value()) {
    resolve = curl_slist_append(resolve, pinned->ResolveEntry().c_str());
  }
  SocketGuard guard{&pinned->address};
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  for (const auto& [name, value] : extra_headers) {
    headers = curl_slist_append(headers, absl::StrCat(name, ": ", value).c_str());
  }
  Clock* clock = options_.clock != nullptr ? options_.clock : SystemClock::Default();
  headers = curl_slist_append(
      headers, absl::StrCat("X-Dsar-Signature: ", SignatureHeader(signing.secret, clock->Now(),
                                                                  signing.delivery_id, body))
                   .c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(curl, CURLOPT_URL, url_string.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_PROXY, "");  // no proxy from the environment
  curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &OpenPinnedSocket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &guard);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &DiscardBody);
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_slist_free_all(resolve);
  if (guard.refused) {
    return absl::PermissionDeniedError(
        absl::StrCat("refused to connect to another address than ", pinned->address.ToString()));
  }
  if (rc != CURLE_OK) return absl::UnavailableError(curl_easy_strerror(rc));
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 200 && code < 300) return absl::OkStatus();
  if (IsPermanentRejection(static_cast<int>(code))) {
    return absl::InvalidArgumentError(absl::StrCat("HTTP ", code));
  }
  return absl::UnavailableError(absl::StrCat("HTTP ", code));
}

}  // namespace dsar::delivery
