#include "lib/privacy_requests/options.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace dsar::privacy_requests {

const CategoryNotice* RequestOptions::FindNotice(absl::string_view connector,
                                                 absl::string_view category) const {
  const CategoryNotice* fallback = nullptr;
  for (const auto& n : notices) {
    if (n.connector != connector) continue;
    if (n.category == category) return &n;
    if (n.category.empty()) fallback = &n;
  }
  return fallback;
}

const std::string& RequestOptions::CallbackSecret(absl::string_view tenant) const {
  auto it = tenant_callbacks.find(tenant);
  return it != tenant_callbacks.end() && !it->second.secret.empty() ? it->second.secret
                                                                    : callback_secret;
}

const std::vector<std::string>& RequestOptions::CallbackHosts(absl::string_view tenant) const {
  static const std::vector<std::string>* const kAny = new std::vector<std::string>();
  auto it = tenant_callbacks.find(tenant);
  return it != tenant_callbacks.end() ? it->second.hosts : *kAny;
}

namespace {

// A callback secret file's content: at least 16 bytes once trimmed.
absl::StatusOr<std::string> ReadCallbackSecret(const std::string& path, absl::string_view field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot read ", field));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret(absl::StripAsciiWhitespace(buffer.str()));
  if (secret.size() < 16) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": the secret must hold at least 16 bytes"));
  }
  return secret;
}

}  // namespace

std::string ExportKeyFile(const config::v1::DsardConfig& config) {
  if (!config.requests().export_key_file().empty()) return config.requests().export_key_file();
  if (!config.outbox().payload_key_file().empty()) return config.outbox().payload_key_file();
  return config.subject_key_file();
}

absl::StatusOr<RequestOptions> RequestOptionsFromConfig(const config::v1::DsardConfig& config) {
  const auto& c = config.requests();
  RequestOptions o;
  auto bad = [](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("requests.", field, ": ", why));
  };
  if (!c.export_dir().empty()) {
    o.export_dir = c.export_dir();
  } else {
    std::filesystem::path db(config.database_path());
    o.export_dir = (db.has_parent_path() ? db.parent_path() / "exports" : "exports").string();
  }
  if (c.export_ttl_hours() < 0 || c.export_ttl_hours() > 24 * 366) {
    return bad("export_ttl_hours", "must be between 1 and 8784 (or unset for 168)");
  }
  if (c.export_ttl_hours() > 0) o.export_ttl = absl::Hours(c.export_ttl_hours());
  o.pause_clock_until_verified = c.pause_clock_until_verified();
  if (!c.callback_secret_file().empty()) {
    absl::StatusOr<std::string> secret =
        ReadCallbackSecret(c.callback_secret_file(), "requests.callback_secret_file");
    if (!secret.ok()) return secret.status();
    o.callback_secret = *std::move(secret);
  }
  for (int i = 0; i < config.tenants_size(); ++i) {
    const auto& t = config.tenants(i);
    TenantCallbackOptions tc;
    tc.hosts.assign(t.callback_hosts().begin(), t.callback_hosts().end());
    if (!t.callback_secret_file().empty()) {
      absl::StatusOr<std::string> secret = ReadCallbackSecret(
          t.callback_secret_file(), absl::StrCat("tenants[", i, "].callback_secret_file"));
      if (!secret.ok()) return secret.status();
      tc.secret = *std::move(secret);
    }
    o.tenant_callbacks[t.id()] = std::move(tc);
  }
  {
    const std::vector<std::string> cidrs(config.outbound().allowed_cidrs().begin(),
                                         config.outbound().allowed_cidrs().end());
    absl::StatusOr<delivery::OutboundPolicy> policy = delivery::OutboundPolicy::Create(cidrs);
    if (!policy.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("outbound.allowed_cidrs: ", policy.status().message()));
    }
    o.outbound = *std::move(policy);
  }
  if (c.callback_timeout_ms() < 0 || c.callback_timeout_ms() > 120000) {
    return bad("callback_timeout_ms", "must be between 100 and 120000 (or unset)");
  }
  if (c.callback_timeout_ms() > 0) o.callback_timeout = absl::Milliseconds(c.callback_timeout_ms());
  if (c.callback_max_attempts() < 0) return bad("callback_max_attempts", "must not be negative");
  if (c.callback_max_attempts() > 0) o.callback_max_attempts = c.callback_max_attempts();
  for (int i = 0; i < c.notices_size(); ++i) {
    const auto& n = c.notices(i);
    if (n.connector().empty()) {
      return bad(absl::StrCat("notices[", i, "].connector"), "required");
    }
    o.notices.push_back({n.connector(), n.category(), n.retention(), n.source()});
  }
  if (c.relationship_retention_days() < 0) {
    return bad("relationship_retention_days", "must not be negative");
  }
  if (c.relationship_retention_days() > 0) {
    o.relationship_retention = absl::Hours(24) * c.relationship_retention_days();
  }
  if (c.retention_scan_interval_seconds() < 0) {
    return bad("retention_scan_interval_seconds", "must not be negative (0 disables the job)");
  }
  o.retention_scan_interval = absl::Seconds(c.retention_scan_interval_seconds());
  if (c.retention_mode() == "review") {
    o.retention_review = true;
  } else if (!c.retention_mode().empty() && c.retention_mode() != "automatic") {
    return bad("retention_mode", "\"automatic\" (default) or \"review\"");
  }
  if (c.retention_max_erasures_per_scan() < 0 || c.retention_max_erasures_per_scan() > 1000000) {
    return bad("retention_max_erasures_per_scan", "must be between 1 and 1000000 (or unset)");
  }
  if (c.retention_max_erasures_per_scan() > 0) {
    o.retention_max_erasures_per_scan = c.retention_max_erasures_per_scan();
  }
  if (c.worker_poll_interval_ms() < 0 || c.worker_poll_interval_ms() > 3600000) {
    return bad("worker_poll_interval_ms", "must be between 1 and 3600000 (or unset)");
  }
  if (c.worker_poll_interval_ms() > 0) {
    o.worker_poll = absl::Milliseconds(c.worker_poll_interval_ms());
  }
  return o;
}

}  // namespace dsar::privacy_requests
