#include "lib/privacy_requests/callbacks.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/core/clock.h"
#include "lib/core/config.h"
#include "lib/core/log.h"
#include "lib/delivery/attempt.h"
#include "lib/delivery/delivery_rows.h"
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
  o.timeout = env.options.callback_timeout;
  o.connect_timeout = absl::Seconds(3);
  o.user_agent = "dsard-status-callback/1";
  o.policy = env.options.outbound;
  o.resolver = env.options.resolver;
  o.clock = env.clock;
  return o;
}

}  // namespace

std::string CallbackHost(absl::string_view url) {
  absl::StatusOr<delivery::OutboundUrl> parsed = delivery::ParseOutboundUrl(url);
  if (!parsed.ok()) return absl::AsciiStrToLower(url);  // never sent: one breaker each
  return absl::StrCat(parsed->host, ":", parsed->port);
}

void EnqueueCallbacks(store::WriteTxn& txn, absl::string_view tenant, absl::string_view request_id,
                      const std::vector<std::string>& urls, const std::string& body,
                      absl::Time now) {
  rows::InsertCallbacks(txn, tenant, request_id, urls, body, now);
}

std::string CallbackUrlProblem(const RequestOptions& options, absl::string_view tenant,
                               absl::string_view url) {
  absl::StatusOr<delivery::OutboundUrl> checked = options.outbound.Check(url);
  if (!checked.ok()) return std::string(checked.status().message());
  if (!delivery::HostAllowed(options.CallbackHosts(tenant), checked->host)) {
    return absl::StrCat("host ", checked->host,
                        " is not in this tenant's callback_hosts allowlist");
  }
  return "";
}

CallbackSender::CallbackSender(RequestEnv* env)
    : env_(env), retry_(CallbackRetryPolicy(*env)), poster_(CallbackPosterOptions(*env)) {}

delivery::CircuitBreaker& CallbackSender::BreakerFor(absl::string_view url) {
  std::unique_ptr<delivery::CircuitBreaker>& breaker = breakers_[CallbackHost(url)];
  if (breaker == nullptr) {
    breaker = std::make_unique<delivery::CircuitBreaker>(kBreakerOptions, env_->clock);
  }
  return *breaker;
}

int CallbackSender::DeliverDue(int limit, absl::Time* next) {
  namespace delivery_rows = delivery::delivery_rows;
  constexpr absl::string_view kChannel = delivery_rows::kCallbacksChannel;
  *next = absl::InfiniteFuture();
  struct Due {
    delivery_rows::DueItem item;
    rows::CallbackContent content;
  };
  std::vector<Due> due;
  const absl::Time now = env_->clock->Now();
  absl::Status read = env_->store->Read([&](store::ReadTxn& txn) {
    for (const delivery_rows::DueItem& item : delivery_rows::Due(txn, kChannel, now, limit)) {
      if (std::optional<rows::CallbackContent> content = rows::ReadCallback(txn, item.item)) {
        due.push_back({item, *std::move(content)});
      }
    }
    if (auto later = delivery_rows::EarliestDue(txn, kChannel, now)) *next = *later;
    return absl::OkStatus();
  });
  if (!read.ok()) return 0;
  int attempted = 0;
  for (const Due& d : due) {
    // A host whose breaker is open is not called: its callbacks wait, without
    // spending an attempt, until the breaker lets a probe through.
    delivery::CircuitBreaker& breaker = BreakerFor(d.content.url);
    const delivery::CircuitBreaker::Grant grant = breaker.Acquire(1);
    if (grant.calls == 0) {
      const absl::Time until = breaker.open_until();
      env_->store
          ->WriteAndWait([&](store::WriteTxn& txn) {
            delivery_rows::Postpone(txn, kChannel, d.item.item, until);
            return absl::OkStatus();
          })
          .IgnoreError();
      *next = std::min(*next, until);
      continue;
    }
    ++attempted;
    const int attempt = d.item.attempts + 1;
    absl::Status posted;
    const std::string& secret = env_->options.CallbackSecret(d.content.tenant);
    const std::string id = absl::StrCat("cb_", d.item.item);
    if (secret.empty()) {
      posted = absl::FailedPreconditionError("no callback secret configured");
    } else if (std::string problem =
                   CallbackUrlProblem(env_->options, d.content.tenant, d.content.url);
               !problem.empty()) {
      // Checked when the request was made; the config may have changed since.
      posted = absl::FailedPreconditionError(absl::StrCat("callback URL refused: ", problem));
    } else {
      posted = poster_.Post(
          d.content.url, d.content.body, {secret, id},
          {{"X-Dsar-Callback-Id", id}, {"X-Dsar-Delivery-Attempt", absl::StrCat(attempt)}});
    }
    if (posted.ok() || !delivery::IsTransient(posted.code())) {
      breaker.RecordSuccess(grant.probe);  // the host answered
    } else {
      breaker.RecordFailure(grant.probe);
    }
    const delivery::AttemptOutcome outcome =
        delivery::JudgeAttempt(retry_, attempt, posted, env_->clock->Now(), 0.0);
    absl::Status written = env_->store->WriteAndWait([&](store::WriteTxn& txn) {
      delivery_rows::RecordOutcome(txn, kChannel, d.item.item, outcome);
      return absl::OkStatus();
    });
    if (outcome.state == delivery::DeliveryState::kPending && written.ok()) {
      *next = std::min(*next, outcome.at);
    }
    const log::Level level = outcome.state == delivery::DeliveryState::kDelivered
                                 ? log::Level::kInfo
                                 : log::Level::kWarn;
    log::Write(level, "privacy_request_callback",
               {{"request_id", d.content.request_id},
                {"tenant", d.content.tenant},
                {"state", delivery::DeliveryStateName(outcome.state)},
                {"attempt", attempt},
                {"error", outcome.error}});
  }
  return attempted;
}

}  // namespace dsar::privacy_requests
