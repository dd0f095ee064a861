// SignedHttpPoster: the one HTTP client of dsar's outgoing deliveries (alert
// webhooks, privacy-request status callbacks): a JSON POST signed with the
// caller's secret, and one answer to "retry or give up?".
//
// Headers: Content-Type: application/json; X-Dsar-Signature:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<delivery id>.<body>"> (the
// time from the injected Clock; the delivery id is the alert or callback id
// the caller also sends in its own header, so a signature cannot be replayed
// for another delivery, and a receiver can refuse old ones); the caller's own
// headers (ids, attempt number). Redirects are not followed; proxies from the
// environment are not used; Expect: 100-continue is off.
//
// Every attempt first checks the URL and pins its host (OutboundPolicy::Pin:
// libcurl's URL parser, one resolution, every address checked), hands the
// pinned address to libcurl (CURLOPT_RESOLVE) and refuses to open a socket
// to any other address, so the address checked is the address connected to.
//
// Outcome of Post():
//   OK                2xx: delivered;
//   INVALID_ARGUMENT  the receiver rejected the body for good
//                     (IsPermanentRejection: 400, 404, 409, 410, 413, 415,
//                     422), or the URL is refused (OutboundPolicy::Check):
//                     do not retry;
//   PERMISSION_DENIED the host resolves to a refused address (or libcurl
//                     tried another address than the pinned one): do not
//                     retry;
//   UNAVAILABLE       anything else: connection errors, timeouts, 408, 429,
//                     5xx, and 401/403 from a misconfigured secret (fixable
//                     without touching the body): retry later.
// The message says "HTTP <code>" or the transport error.
//
// Thread-safety: Post() may be called from any thread; calls are serialised
// on the one curl handle, which is reused for keep-alive.
#ifndef DSAR_LIB_DELIVERY_SIGNED_HTTP_POSTER_H_
#define DSAR_LIB_DELIVERY_SIGNED_HTTP_POSTER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/clock.h"
#include "lib/delivery/outbound_url.h"

namespace dsar::delivery {

struct SignedHttpPosterOptions {
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration connect_timeout = absl::Seconds(3);
  std::string user_agent = "dsard/1";
  OutboundPolicy policy;         // which addresses may be reached
  Resolver* resolver = nullptr;  // not owned; null: SystemResolver::Default()
  Clock* clock = nullptr;        // not owned; null: SystemClock::Default()
};

// What one POST is signed with.
struct Signing {
  std::string secret;       // HMAC key (the tenant's, the webhook's)
  std::string delivery_id;  // the alert or callback id, covered by the signature
};

class SignedHttpPoster {
 public:
  explicit SignedHttpPoster(SignedHttpPosterOptions options);
  ~SignedHttpPoster();
  SignedHttpPoster(const SignedHttpPoster&) = delete;
  SignedHttpPoster& operator=(const SignedHttpPoster&) = delete;

  using Headers = std::vector<std::pair<std::string, std::string>>;
  // POSTs `body` to `url` (http or https) signed with `signing`, with
  // `headers`. See the header comment for the status codes.
  absl::Status Post(absl::string_view url, absl::string_view body, const Signing& signing,
                    const Headers& headers);

 private:
  const SignedHttpPosterOptions options_;
  absl::Mutex mu_;
  void* curl_ ABSL_GUARDED_BY(mu_) = nullptr;  // CURL*, null if curl_easy_init failed
};

// Whether an HTTP answer rejects the body for good.
bool IsPermanentRejection(int http_status);

// The X-Dsar-Signature value: "t=<unix seconds of `at`>,v1=<64 lower-case
// hex digits of HMAC-SHA256 of "<t>.<delivery_id>.<body>" under `secret`>".
std::string SignatureHeader(absl::string_view secret, absl::Time at, absl::string_view delivery_id,
                            absl::string_view body);

// A receiver's check of an X-Dsar-Signature value (constant-time): OK, or
// PERMISSION_DENIED saying why (malformed, t further than `tolerance` from
// `now`, no v1 matching). Replays within the tolerance are the receiver's to
// drop by the delivery id it has seen.
absl::Status VerifySignatureHeader(absl::string_view secret, absl::string_view header_value,
                                   absl::string_view delivery_id, absl::string_view body,
                                   absl::Time now, absl::Duration tolerance = absl::Minutes(5));

}  // namespace dsar::delivery

#endif  // DSAR_LIB_DELIVERY_SIGNED_HTTP_POSTER_H_
