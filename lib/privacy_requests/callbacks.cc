#include "lib/privacy_requests/callbacks.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/core/clock.h"
#include "lib/core/config.h"
#include "lib/core/log.h"
#include "lib/deadline/webhook_sink.h"
#include "lib/privacy_requests/request_env.h"
#include "lib/store/store.h"

namespace dsar::privacy_requests {
namespace {

size_t DiscardBody(char*, size_t size, size_t n, void*) { return size * n; }

bool PermanentRejection(long code) {
  return code == 400 || code == 404 || code == 410 || code == 422;
}

// 1s, 2s, 4s ... capped at 10 minutes.
absl::Duration Backoff(int attempts) {
  return std::min(absl::Minutes(10), absl::Seconds(1) * (int64_t{1} << std::min(attempts, 10)));
}

}  // namespace

void EnqueueCallbacks(store::WriteTxn& txn, absl::string_view tenant, absl::string_view request_id,
                      const std::vector<std::string>& urls, const std::string& body,
                      absl::Time now) {
  SQLite::Statement& q = txn.Prepare(
      "INSERT INTO privacy_request_callbacks (tenant_id, request_id, url, body, state, "
      "next_attempt_us) VALUES (?, ?, ?, ?, 'pending', ?)");
  for (const auto& url : urls) {
    q.reset();
    q.clearBindings();
    q.bind(1, std::string(tenant));
    q.bind(2, std::string(request_id));
    q.bind(3, url);
    q.bind(4, body);
    q.bind(5, static_cast<int64_t>(absl::ToUnixMicros(now)));
    q.exec();
  }
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

CallbackSender::CallbackSender(RequestEnv* env) : env_(env) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

CallbackSender::~CallbackSender() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

absl::StatusOr<long> CallbackSender::Post(const std::string& url, const std::string& body,
                                          const std::string& callback_id, int attempt) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  curl_easy_reset(curl);
  const std::string signature = deadline::WebhookSignature(env_->options.callback_secret, body);
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, absl::StrCat("X-Dsar-Callback-Id: ", callback_id).c_str());
  headers = curl_slist_append(headers, absl::StrCat("X-Dsar-Delivery-Attempt: ", attempt).c_str());
  headers = curl_slist_append(headers, absl::StrCat("X-Dsar-Signature: ", signature).c_str());
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(env_->options.callback_timeout)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "dsard-status-callback/1");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &DiscardBody);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) return absl::UnavailableError(curl_easy_strerror(rc));
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

int CallbackSender::DeliverDue(int limit, absl::Time* next) {
  *next = absl::InfiniteFuture();
  struct Due {
    int64_t seq;
    std::string tenant, request_id, url, body;
    int attempts;
  };
  std::vector<Due> due;
  const absl::Time now = env_->clock->Now();
  absl::Status read = env_->store->Read([&](store::ReadTxn& txn) {
    SQLite::Statement& q = txn.Prepare(
        "SELECT seq, tenant_id, request_id, url, body, attempts, next_attempt_us FROM "
        "privacy_request_callbacks WHERE state = 'pending' ORDER BY next_attempt_us, seq "
        "LIMIT ?");
    q.bind(1, limit);
    while (q.executeStep()) {
      const absl::Time at = absl::FromUnixMicros(q.getColumn(6).getInt64());
      if (at > now) {
        *next = at;
        break;
      }
      due.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString(),
                     q.getColumn(2).getString(), q.getColumn(3).getString(),
                     q.getColumn(4).getString(), q.getColumn(5).getInt()});
    }
    q.reset();
    return absl::OkStatus();
  });
  if (!read.ok()) return 0;
  for (const Due& d : due) {
    const int attempt = d.attempts + 1;
    absl::StatusOr<long> code =
        env_->options.callback_secret.empty()
            ? absl::StatusOr<long>(absl::FailedPreconditionError("no callback secret configured"))
            : Post(d.url, d.body, absl::StrCat("cb_", d.seq), attempt);
    std::string state = "pending";
    std::string error;
    if (code.ok() && *code >= 200 && *code < 300) {
      state = "delivered";
    } else {
      error = code.ok() ? absl::StrCat("HTTP ", *code) : std::string(code.status().message());
      const bool permanent = (code.ok() && PermanentRejection(*code)) ||
                             code.status().code() == absl::StatusCode::kFailedPrecondition;
      if (permanent || attempt >= env_->options.callback_max_attempts) state = "failed";
    }
    const absl::Time done_at = env_->clock->Now();
    const absl::Time retry_at = done_at + Backoff(d.attempts);
    absl::Status written = env_->store->WriteAndWait([&](store::WriteTxn& txn) {
      SQLite::Statement& u = txn.Prepare(
          "UPDATE privacy_request_callbacks SET state = ?, attempts = ?, next_attempt_us = ?, "
          "last_error = ?, delivered_at_us = ? WHERE seq = ?");
      u.bind(1, state);
      u.bind(2, attempt);
      u.bind(3, static_cast<int64_t>(absl::ToUnixMicros(retry_at)));
      u.bind(4, error.substr(0, 200));
      if (state == "delivered") {
        u.bind(5, static_cast<int64_t>(absl::ToUnixMicros(done_at)));
      } else {
        u.bind(5);
      }
      u.bind(6, static_cast<int64_t>(d.seq));
      u.exec();
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
