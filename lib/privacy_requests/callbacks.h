// Status callbacks: a signed HTTP POST to the controller on every state change
// of a request that named a status_callback_url (OpenDSR's status callback:
// subject_request_id, request_status, expected_completion_time).
//
// A callback is a row written in the same transaction as the state change
// (an outbox), so none is lost or sent for a change that rolled back; the
// CallbackSender delivers rows in order with retries and backoff, also after
// restarts (delivery is at least once; X-Dsar-Callback-Id lets the receiver
// drop repeats). The POST is delivery::SignedHttpPoster's, as for the alert
// webhooks: X-Dsar-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<callback id>.<body>"> under the tenant's callback secret
// (TenantConfig.callback_secret_file, else requests.callback_secret_file). Each attempt is judged
// by delivery::JudgeAttempt: a 2xx answer is a delivery; a permanent rejection
// (delivery::IsPermanentRejection: 400, 404, 409, 410, 413, 415, 422) or a missing secret gives it
// up; other answers and transport errors are retried after delivery::RetryPolicy's backoff without
// jitter (1 s, 2 s, 4 s ... up to 10 minutes) up to callback_max_attempts. The rows are
// lib/delivery's deliveries table (channel "callbacks"; the URL and body stay in
// privacy_request_callbacks). Each receiving host has a delivery::CircuitBreaker: after 5 transport
// failures or retryable answers in a row it is left alone for 30 s (its
// callbacks wait without spending attempts), so a host that is down does not
// hold up the callbacks of other hosts. Each attempt resolves the host once
// and connects to the address it checked (delivery::OutboundPolicy::Pin); a
// URL that now resolves to a refused address, or whose host the tenant's
// callback_hosts no longer allow, fails that callback for good.
//
// Thread-safety: EnqueueCallbacks runs inside a write transaction; a
// CallbackSender is used by one thread (the worker's callback thread).
#ifndef DSAR_LIB_PRIVACY_REQUESTS_CALLBACKS_H_
#define DSAR_LIB_PRIVACY_REQUESTS_CALLBACKS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/delivery/circuit_breaker.h"
#include "lib/delivery/retry_policy.h"
#include "lib/delivery/signed_http_poster.h"
#include "lib/privacy_requests/options.h"
#include "lib/store/txn.h"

namespace dsar::privacy_requests {

struct RequestEnv;

void EnqueueCallbacks(store::WriteTxn& txn, absl::string_view tenant, absl::string_view request_id,
                      const std::vector<std::string>& urls, const std::string& body,
                      absl::Time now);

// Checks `tenant`'s callback URL without resolving it: the outbound rules
// (delivery::OutboundPolicy::Check: libcurl's parser, no user information,
// https or http to a loopback IP, no refused IP literal) and the tenant's
// callback_hosts. The description of what is wrong, or empty when fine.
std::string CallbackUrlProblem(const RequestOptions& options, absl::string_view tenant,
                               absl::string_view url);

// "host:port" of a callback URL, lower-cased: what a breaker is kept for.
std::string CallbackHost(absl::string_view url);

class CallbackSender {
 public:
  explicit CallbackSender(RequestEnv* env);
  CallbackSender(const CallbackSender&) = delete;
  CallbackSender& operator=(const CallbackSender&) = delete;

  // Delivers the callbacks due at the clock's now (up to `limit` read);
  // returns how many were attempted (those of a host whose breaker is open
  // are postponed instead). The earliest later attempt, if known, is stored
  // in `*next` (InfiniteFuture when none).
  int DeliverDue(int limit, absl::Time* next);

 private:
  static constexpr delivery::CircuitBreaker::Options kBreakerOptions = {
      /*failure_threshold=*/5, /*open_duration=*/absl::Seconds(30), /*half_open_calls=*/1};

  delivery::CircuitBreaker& BreakerFor(absl::string_view url);

  RequestEnv* env_;
  const delivery::RetryPolicy retry_;
  delivery::SignedHttpPoster poster_;
  absl::flat_hash_map<std::string, std::unique_ptr<delivery::CircuitBreaker>> breakers_;
};

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_CALLBACKS_H_
