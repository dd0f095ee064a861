#include "lib/privacy_requests/callbacks.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/core/clock.h"
#include "lib/core/config.h"
#include "lib/core/log.h"
#include "lib/privacy_requests/request_env.h"
#include "lib/privacy_requests/request_rows.h"
#include "lib/store/store.h"

namespace dsar::privacy_requests {
namespace {

// 1 s, 2 s, 4 s ... capped at 10 minutes.
delivery::RetryPolicy CallbackRetryPolicy(const RequestEnv& env) {
  delivery::RetryPolicy p;
  p.initial = absl::Seconds(1);
  p.max = absl::Minutes(10);
  p.jitter = delivery::RetryPolicy::Jitter::kNone;
  p.max_attempts = env.options.callback_max_attempts;
  return p;
}

delivery::SignedHttpPosterOptions CallbackPosterOptions(const RequestEnv& env) {
  delivery::SignedHttpPosterOptions o;
  o.secret = env.options.callback_secret;
  o.timeout = env.options.callback_timeout;
  o.connect_timeout = absl::Seconds(3);
  o.user_agent = "dsard-status-callback/1";
  return o;
}

}  // namespace

void EnqueueCallbacks(store::WriteTxn& txn, absl::string_view tenant, absl::string_view request_id,
                      const std::vector<std::string>& urls, const std::string& body,
                      absl::Time now) {
  rows::InsertCallbacks(txn, tenant, request_id, urls, body, now);
}

std::string CallbackUrlProblem(absl::string_view url) {
  if (url.size() > 2048) return "at most 2048 characters";
  const bool https = absl::StartsWith(url, "https://");
  const bool http = absl::StartsWith(url, "http://");
  absl::string_view rest = url.substr(https ? 8 : (http ? 7 : 0));
  absl::string_view host_port = rest.substr(0, rest.find('/'));
  if ((!https && !http) || host_port.empty()) return "must be an http(s) URL";
  for (char c : url) {
    if (c <= 0x20 || c >= 0x7f) return "must not contain spaces or control characters";
  }
  if (http && !IsLoopbackAddress(host_port)) {
    return "plain http is only allowed to a loopback address; use https";
  }
  return "";
}

CallbackSender::CallbackSender(RequestEnv* env)
    : env_(env), retry_(CallbackRetryPolicy(*env)), poster_(CallbackPosterOptions(*env)) {}

int CallbackSender::DeliverDue(int limit, absl::Time* next) {
  *next = absl::InfiniteFuture();
  std::vector<rows::PendingCallback> due;
  const absl::Time now = env_->clock->Now();
  absl::Status read = env_->store->Read([&](store::ReadTxn& txn) {
    due = rows::DueCallbacks(txn, now, limit, next);
    return absl::OkStatus();
  });
  if (!read.ok()) return 0;
  for (const rows::PendingCallback& d : due) {
    const int attempt = d.attempts + 1;
    const absl::Status posted =
        env_->options.callback_secret.empty()
            ? absl::FailedPreconditionError("no callback secret configured")
            : poster_.Post(d.url, d.body,
                           {{"X-Dsar-Callback-Id", absl::StrCat("cb_", d.seq)},
                            {"X-Dsar-Delivery-Attempt", absl::StrCat(attempt)}});
    std::string state = "pending";
    std::string error;
    if (posted.ok()) {
      state = "delivered";
    } else {
      error = std::string(posted.message());
      // A permanent rejection, or nothing to sign with.
      const bool permanent = posted.code() == absl::StatusCode::kInvalidArgument ||
                             posted.code() == absl::StatusCode::kFailedPrecondition;
      if (permanent || retry_.OutOfAttempts(attempt)) state = "failed";
    }
    const absl::Time done_at = env_->clock->Now();
    const absl::Time retry_at = done_at + retry_.Delay(attempt, 0.0);
    absl::Status written = env_->store->WriteAndWait([&](store::WriteTxn& txn) {
      rows::RecordCallbackAttempt(txn, d.seq, state, attempt,
                                  state == "delivered" ? done_at : retry_at, error);
      return absl::OkStatus();
    });
    if (state == "pending" && written.ok()) *next = std::min(*next, retry_at);
    const log::Level level = state == "delivered" ? log::Level::kInfo : log::Level::kWarn;
    log::Write(level, "privacy_request_callback",
               {{"request_id", d.request_id},
                {"tenant", d.tenant},
                {"state", state},
                {"attempt", attempt},
                {"error", error}});
  }
  return static_cast<int>(due.size());
}

}  // namespace dsar::privacy_requests
