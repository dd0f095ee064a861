#include "lib/core/config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "lib/delivery/outbound_url.h"

namespace dsar {
namespace {

using dsar::config::v1::DsardConfig;
using google::protobuf::TextFormat;

// Collects parser errors as "<file>:<line>:<col>: <message>" (1-based).
class CollectingErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrors(absl::string_view file) : file_(file) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    errors_.push_back(absl::StrCat(file_, ":", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

// Where a message's fields were set in the file: its parse subtree (null when
// the message did not appear) and its type.
struct Where {
  const TextFormat::ParseInfoTree* tree;
  const google::protobuf::Descriptor* type;
  int element_line = 0;  // line where the message itself starts, if nested
};

// Semantic checks; each error names the field and the line where it was set.
class Validator {
 public:
  explicit Validator(absl::string_view file) : file_(file) {}

  void Fail(Where where, absl::string_view field_name, absl::string_view path,
            absl::string_view reason) {
    const auto* field = where.type->FindFieldByName(std::string(field_name));
    int line = 0;
    if (where.tree != nullptr && field != nullptr) {
      line = where.tree->GetLocation(field, field->is_repeated() ? 0 : -1).line + 1;
    }
    if (line <= 0) line = where.element_line;  // an unset field: point at its message
    errors_.push_back(line > 0 ? absl::StrCat(file_, ":", line, ": ", path, ": ", reason)
                               : absl::StrCat(file_, ": ", path, ": ", reason));
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

// Where the index-th element of repeated message field `name` of `parent` was set.
Where Element(Where parent, absl::string_view name, int index,
              const google::protobuf::Descriptor* type) {
  const auto* field = parent.type->FindFieldByName(std::string(name));
  if (parent.tree == nullptr) return {nullptr, type, 0};
  return {parent.tree->GetTreeForNested(field, index), type,
          parent.tree->GetLocation(field, index).line + 1};
}

bool IsIdentifier(absl::string_view s, absl::string_view extra) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              extra.find(ch) != absl::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

void ValidateTenants(const DsardConfig& c, const TextFormat::ParseInfoTree& tree, Validator& v) {
  const Where root{&tree, DsardConfig::descriptor()};
  std::set<std::string> ids;
  for (int i = 0; i < c.tenants_size(); ++i) {
    const auto& t = c.tenants(i);
    Where where = Element(root, "tenants", i, dsar::config::v1::TenantConfig::descriptor());
    std::string path = absl::StrCat("tenants[", i, "]");
    if (!IsIdentifier(t.id(), "-")) {
      v.Fail(where, "id", path + ".id", "1-64 characters of a-z, 0-9 and '-'");
    } else if (!ids.insert(t.id()).second) {
      v.Fail(where, "id", path + ".id", "duplicate tenant id");
    }
    std::set<std::string> purposes;
    for (int j = 0; j < t.purposes_size(); ++j) {
      const auto& p = t.purposes(j);
      Where pw = Element(where, "purposes", j, dsar::config::v1::PurposeConfig::descriptor());
      std::string ppath = absl::StrCat(path, ".purposes[", j, "]");
      if (!IsIdentifier(p.name(), "_-.")) {
        v.Fail(pw, "name", ppath + ".name", "1-64 characters of a-z, 0-9, '_', '-' and '.'");
      } else if (!purposes.insert(p.name()).second) {
        v.Fail(pw, "name", ppath + ".name", "duplicate purpose in this tenant");
      }
      if (p.current_notice_version().empty()) {
        v.Fail(pw, "current_notice_version", ppath + ".current_notice_version", "required");
      }
    }
    if (t.breach_subject_communication_hours() < 0 ||
        t.breach_subject_communication_hours() > 720) {
      v.Fail(where, "breach_subject_communication_hours",
             path + ".breach_subject_communication_hours", "0 (default 72) to 720 hours");
    }
    for (const std::string& host : t.callback_hosts()) {
      if (std::string problem = delivery::HostPatternProblem(host); !problem.empty()) {
        v.Fail(where, "callback_hosts", path + ".callback_hosts",
               absl::StrCat("\"", host, "\": ", problem));
      }
    }
  }
  if (c.tenants_size() > 0 && c.subject_key_file().empty()) {
    v.Fail(root, "subject_key_file", "subject_key_file", "required when tenants are configured");
  }
}

void ValidatePrincipals(const DsardConfig& c, const TextFormat::ParseInfoTree& tree, Validator& v) {
  const Where root{&tree, DsardConfig::descriptor()};
  std::set<std::string> tenants;
  for (const auto& t : c.tenants()) tenants.insert(t.id());
  std::set<std::string> names, hashes;
  static const char* const kRoles[] = {"service", "dpo", "connector", "auditor", "admin"};
  for (int i = 0; i < c.principals_size(); ++i) {
    const auto& p = c.principals(i);
    Where where = Element(root, "principals", i, dsar::config::v1::PrincipalConfig::descriptor());
    std::string path = absl::StrCat("principals[", i, "]");
    if (!IsIdentifier(p.name(), "-_.")) {
      v.Fail(where, "name", path + ".name", "1-64 characters of a-z, 0-9, '-', '_' and '.'");
    } else if (!names.insert(p.name()).second) {
      v.Fail(where, "name", path + ".name", "duplicate principal name");
    }
    bool role_ok = false;
    for (const char* r : kRoles) role_ok |= p.role() == r;
    if (!role_ok) {
      v.Fail(where, "role", path + ".role", "must be service, dpo, connector, auditor or admin");
    }
    if (p.tenant() == "*") {
      if (p.role() != "dpo" && p.role() != "auditor" && p.role() != "admin") {
        v.Fail(where, "tenant", path + ".tenant",
               "\"*\" (all tenants) is only for dpo, "
               "auditor and admin principals");
      }
    } else if (tenants.count(p.tenant()) == 0) {
      v.Fail(where, "tenant", path + ".tenant", "must name a tenant under tenants, or \"*\"");
    }
    bool hex = p.token_sha256().size() == 64;
    for (char ch : p.token_sha256()) hex &= (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
    if (p.token_sha256().empty() && !p.client_cert_identity().empty()) {
      // Authenticated by client certificate only.
    } else if (!hex) {
      v.Fail(where, "token_sha256", path + ".token_sha256",
             "64 lower-case hex characters (SHA-256 of the token)");
    } else if (!hashes.insert(p.token_sha256()).second) {
      v.Fail(where, "token_sha256", path + ".token_sha256", "token shared by two principals");
    }
  }
}

// Connectors (lib/connector): endpoints, retry/breaker tuning and the Art. 30
// register fields.
void ValidateConnectors(const DsardConfig& c, const TextFormat::ParseInfoTree& tree, Validator& v) {
  using dsar::config::v1::ConnectorConfig;
  const Where root{&tree, DsardConfig::descriptor()};
  std::set<std::string> tenants, names;
  for (const auto& t : c.tenants()) tenants.insert(t.id());
  auto range = [&](Where w, const char* name, const std::string& path, int value, int lo, int hi) {
    if (value != 0 && (value < lo || value > hi)) {
      v.Fail(w, name, path + "." + name,
             absl::StrCat("must be between ", lo, " and ", hi, " (or unset for the default)"));
    }
  };
  for (int i = 0; i < c.connectors_size(); ++i) {
    const ConnectorConfig& k = c.connectors(i);
    Where w = Element(root, "connectors", i, ConnectorConfig::descriptor());
    std::string path = absl::StrCat("connectors[", i, "]");
    if (!IsIdentifier(k.name(), "-")) {
      v.Fail(w, "name", path + ".name", "1-64 characters of a-z, 0-9 and '-'");
    } else if (!names.insert(k.name()).second) {
      v.Fail(w, "name", path + ".name", "duplicate connector name");
    }
    auto colon = k.address().rfind(':');
    int port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(k.address().substr(colon + 1), &port) || port < 1 || port > 65535) {
      v.Fail(w, "address", path + ".address", "must be host:port with a port from 1 to 65535");
    } else if (!k.has_tls() && !IsLoopbackAddress(k.address())) {
      v.Fail(w, "address", path + ".address",
             "plaintext is allowed only to loopback addresses; configure tls");
    }
    if (k.has_tls() && k.tls().cert_file().empty() != k.tls().key_file().empty()) {
      v.Fail(w, "tls", path + ".tls", "cert_file and key_file go together");
    }
    if (!k.tenant().empty() && tenants.count(k.tenant()) == 0) {
      v.Fail(w, "tenant", path + ".tenant", "must name a tenant under tenants");
    }
    range(w, "call_timeout_ms", path, k.call_timeout_ms(), 10, 600000);
    range(w, "export_timeout_ms", path, k.export_timeout_ms(), 10, 86400000);
    range(w, "max_attempts", path, k.max_attempts(), 1, 1000);
    range(w, "max_concurrency", path, k.max_concurrency(), 1, 1024);
    range(w, "initial_backoff_ms", path, k.initial_backoff_ms(), 1, 3600000);
    range(w, "max_backoff_ms", path, k.max_backoff_ms(), 1, 86400000);
    if (k.initial_backoff_ms() != 0 && k.max_backoff_ms() != 0 &&
        k.initial_backoff_ms() > k.max_backoff_ms()) {
      v.Fail(w, "max_backoff_ms", path + ".max_backoff_ms", "must be >= initial_backoff_ms");
    }
    Where bw{w.tree == nullptr ? nullptr
                               : w.tree->GetTreeForNested(
                                     ConnectorConfig::descriptor()->FindFieldByName("breaker"), -1),
             dsar::config::v1::CircuitBreakerConfig::descriptor()};
    range(bw, "failure_threshold", path + ".breaker", k.breaker().failure_threshold(), 1, 1000);
    range(bw, "open_ms", path + ".breaker", k.breaker().open_ms(), 1, 86400000);
    range(bw, "half_open_calls", path + ".breaker", k.breaker().half_open_calls(), 1, 1024);
    for (const auto& p : k.purposes()) {
      if (!IsIdentifier(p, "_-.")) {
        v.Fail(w, "purposes", path + ".purposes", "1-64 characters of a-z, 0-9, '_', '-', '.'");
      }
    }
    for (const auto& kind : k.task_kinds()) {
      if (kind != "subject.export" && kind != "subject.erase" && kind != "consent.apply") {
        v.Fail(w, "task_kinds", path + ".task_kinds",
               "must be subject.export, subject.erase or consent.apply");
      }
    }
    bool country_ok = k.country().empty() || k.country().size() == 2;
    for (char ch : k.country()) country_ok &= ch >= 'A' && ch <= 'Z';
    if (!country_ok) {
      v.Fail(w, "country", path + ".country", "ISO 3166-1 alpha-2 code, e.g. \"SE\"");
    }
  }
  if (c.connectors_size() > 0 && c.outbox().payload_key_file().empty() &&
      c.subject_key_file().empty()) {
    v.Fail(root, "connectors", "outbox.payload_key_file",
           "required (or subject_key_file) when connectors are configured");
  }
  const Where ow{tree.GetTreeForNested(DsardConfig::descriptor()->FindFieldByName("outbox"), -1),
                 dsar::config::v1::OutboxConfig::descriptor()};
  range(ow, "poll_interval_ms", "outbox", c.outbox().poll_interval_ms(), 1, 3600000);
  range(ow, "health_interval_ms", "outbox", c.outbox().health_interval_ms(), 10, 3600000);
  range(ow, "waiting_poll_ms", "outbox", c.outbox().waiting_poll_ms(), 1, 3600000);
}

// outbound.allowed_cidrs; the policy they make (none allowed when one is bad).
delivery::OutboundPolicy ValidateOutbound(const DsardConfig& c,
                                          const TextFormat::ParseInfoTree& tree, Validator& v) {
  const Where w{tree.GetTreeForNested(DsardConfig::descriptor()->FindFieldByName("outbound"), -1),
                dsar::config::v1::OutboundConfig::descriptor()};
  const std::vector<std::string> cidrs(c.outbound().allowed_cidrs().begin(),
                                       c.outbound().allowed_cidrs().end());
  absl::StatusOr<delivery::OutboundPolicy> policy = delivery::OutboundPolicy::Create(cidrs);
  if (!policy.ok()) {
    v.Fail(w, "allowed_cidrs", "outbound.allowed_cidrs", policy.status().message());
    return delivery::OutboundPolicy();
  }
  return *policy;
}

void ValidateDeadline(const DsardConfig& c, const TextFormat::ParseInfoTree& tree, Validator& v) {
  const delivery::OutboundPolicy outbound = ValidateOutbound(c, tree, v);
  using dsar::config::v1::DeadlineConfig;
  using dsar::config::v1::WebhookConfig;
  const DeadlineConfig& d = c.deadline();
  const Where w{tree.GetTreeForNested(DsardConfig::descriptor()->FindFieldByName("deadline"), -1),
                DeadlineConfig::descriptor()};
  absl::TimeZone tz;
  if (!d.time_zone().empty() && !absl::LoadTimeZone(d.time_zone(), &tz)) {
    v.Fail(w, "time_zone", "deadline.time_zone",
           "unknown IANA time zone (is tzdata installed?), e.g. \"Europe/Stockholm\"");
  }
  for (int i = 0; i < d.warn_before_size(); ++i) {
    absl::Duration before;
    if (!absl::ParseDuration(d.warn_before(i), &before) || before <= absl::ZeroDuration()) {
      v.Fail(w, "warn_before", absl::StrCat("deadline.warn_before[", i, "]"),
             "must be a positive duration such as \"24h\" or \"30m\"");
    }
  }
  absl::Duration every;
  if (!d.overdue_every().empty() &&
      (!absl::ParseDuration(d.overdue_every(), &every) || every < absl::ZeroDuration())) {
    v.Fail(w, "overdue_every", "deadline.overdue_every",
           "must be a duration such as \"24h\" (\"0s\" disables overdue reminders)");
  }
  if (d.horizon_seconds() != 0 && (d.horizon_seconds() < 60 || d.horizon_seconds() > 86400)) {
    v.Fail(w, "horizon_seconds", "deadline.horizon_seconds",
           "must be between 60 and 86400 (or unset for the default)");
  }
  std::set<std::string> names;
  for (int i = 0; i < d.webhooks_size(); ++i) {
    const WebhookConfig& h = d.webhooks(i);
    Where hw = Element(w, "webhooks", i, WebhookConfig::descriptor());
    const std::string path = absl::StrCat("deadline.webhooks[", i, "]");
    if (!IsIdentifier(h.name(), "-")) {
      v.Fail(hw, "name", path + ".name", "1-64 characters of a-z, 0-9 and '-'");
    } else if (!names.insert(h.name()).second) {
      v.Fail(hw, "name", path + ".name", "duplicate webhook name");
    }
    if (absl::StatusOr<delivery::OutboundUrl> url = outbound.Check(h.url()); !url.ok()) {
      v.Fail(hw, "url", path + ".url", url.status().message());
    }
    if (h.secret_file().empty()) v.Fail(hw, "secret_file", path + ".secret_file", "required");
    if (h.timeout_ms() != 0 && (h.timeout_ms() < 100 || h.timeout_ms() > 120000)) {
      v.Fail(hw, "timeout_ms", path + ".timeout_ms",
             "must be between 100 and 120000 (or unset for the default)");
    }
    if (h.max_attempts() < 0) {
      v.Fail(hw, "max_attempts", path + ".max_attempts", "must not be negative");
    }
  }
}

// Admin endpoint and backups (lib/ops, services/ops_module.h).
void ValidateOps(const DsardConfig& c, const TextFormat::ParseInfoTree& tree, Validator& v) {
  const Where root{&tree, DsardConfig::descriptor()};
  if (!c.admin_listen_address().empty()) {
    auto colon = c.admin_listen_address().rfind(':');
    int port = -1;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(c.admin_listen_address().substr(colon + 1), &port) || port < 0 ||
        port > 65535) {
      v.Fail(root, "admin_listen_address", "admin_listen_address",
             "must be host:port with a port from 0 to 65535");
    } else if (!c.admin_allow_non_loopback() && !IsLoopbackAddress(c.admin_listen_address())) {
      v.Fail(root, "admin_listen_address", "admin_listen_address",
             "must be a loopback address (127.0.0.0/8, [::1], localhost) unless "
             "admin_allow_non_loopback is set");
    } else if (c.admin_listen_address() == c.listen_address() && port != 0) {
      v.Fail(root, "admin_listen_address", "admin_listen_address",
             "must differ from listen_address");
    }
  }
  const Where backup{
      tree.GetTreeForNested(DsardConfig::descriptor()->FindFieldByName("backup"), -1),
      dsar::config::v1::BackupConfig::descriptor()};
  if (c.backup().interval_minutes() < 0 || c.backup().interval_minutes() > 525600) {
    v.Fail(backup, "interval_minutes", "backup.interval_minutes",
           "must be between 0 (only on request) and 525600");
  }
  if (c.backup().keep() < 0 || c.backup().keep() > 100000) {
    v.Fail(backup, "keep", "backup.keep", "must be between 1 and 100000 (or unset for 7)");
  }
}

void Validate(const DsardConfig& c, const TextFormat::ParseInfoTree& tree, Validator& v) {
  const Where root{&tree, DsardConfig::descriptor()};
  const Where writer{
      tree.GetTreeForNested(DsardConfig::descriptor()->FindFieldByName("writer"), -1),
      dsar::config::v1::WriterConfig::descriptor()};
  if (c.listen_address().empty()) {
    v.Fail(root, "listen_address", "listen_address", "required (host:port)");
  } else {
    auto colon = c.listen_address().rfind(':');
    int port = -1;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(c.listen_address().substr(colon + 1), &port) || port < 0 ||
        port > 65535) {
      v.Fail(root, "listen_address", "listen_address",
             "must be host:port with a port from 0 to 65535");
    } else if (!c.insecure_loopback() && !c.has_tls()) {
      v.Fail(root, "listen_address", "listen_address",
             "TLS is not configured; configure tls, or set insecure_loopback: true to serve "
             "plaintext on a loopback address");
    } else if (c.insecure_loopback() && c.has_tls()) {
      v.Fail(root, "insecure_loopback", "insecure_loopback", "cannot be combined with tls");
    } else if (c.insecure_loopback() && !IsLoopbackAddress(c.listen_address())) {
      v.Fail(root, "listen_address", "listen_address",
             "insecure_loopback allows only loopback addresses (127.0.0.0/8, [::1], localhost)");
    }
  }
  if (c.database_path().empty()) v.Fail(root, "database_path", "database_path", "required");
  auto in_range = [&](Where where, absl::string_view name, absl::string_view path, int value,
                      int lo, int hi) {
    if (value != 0 && (value < lo || value > hi)) {
      v.Fail(where, name, path,
             absl::StrCat("must be between ", lo, " and ", hi, " (or unset for the default)"));
    }
  };
  in_range(root, "max_message_bytes", "max_message_bytes", c.max_message_bytes(), 1024, 64 << 20);
  in_range(root, "shutdown_grace_ms", "shutdown_grace_ms", c.shutdown_grace_ms(), 1, 600000);
  in_range(root, "read_pool_size", "read_pool_size", c.read_pool_size(), 1, 64);
  in_range(root, "audit_anchor_interval_seconds", "audit_anchor_interval_seconds",
           c.audit_anchor_interval_seconds(), 1, 7 * 86400);
  in_range(root, "idempotency_retention_days", "idempotency_retention_days",
           c.idempotency_retention_days(), 1, 3650);
  in_range(root, "read_mmap_mib", "read_mmap_mib", c.read_mmap_mib(), 1, 2048);
  in_range(root, "read_acquire_timeout_ms", "read_acquire_timeout_ms", c.read_acquire_timeout_ms(),
           1, 60000);
  if (c.consent_index_max_entries() != -1) {
    in_range(root, "consent_index_max_entries", "consent_index_max_entries",
             c.consent_index_max_entries(), 1, 100000000);
  }
  in_range(writer, "max_group_size", "writer.max_group_size", c.writer().max_group_size(), 1,
           10000);
  in_range(writer, "max_queue_depth", "writer.max_queue_depth", c.writer().max_queue_depth(), 1,
           10000000);
  static const char* const kLevels[] = {"", "trace", "debug", "info", "warn", "error"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok |= (c.log_level() == l);
  if (!level_ok) {
    v.Fail(root, "log_level", "log_level", "must be trace, debug, info, warn or error");
  }
  ValidateTenants(c, tree, v);
  ValidatePrincipals(c, tree, v);
  const Where limits{
      tree.GetTreeForNested(DsardConfig::descriptor()->FindFieldByName("limits"), -1),
      dsar::config::v1::LimitsConfig::descriptor()};
  in_range(limits, "max_concurrent_calls", "limits.max_concurrent_calls",
           c.limits().max_concurrent_calls(), 1, 1000000);
  in_range(limits, "per_principal_burst", "limits.per_principal_burst",
           c.limits().per_principal_burst(), 1, 1000000);
  if (c.limits().per_principal_rps() < 0) {
    v.Fail(limits, "per_principal_rps", "limits.per_principal_rps", "must not be negative");
  }
  in_range(limits, "refusal_audit_window_seconds", "limits.refusal_audit_window_seconds",
           c.limits().refusal_audit_window_seconds(), 1, 3600);
  in_range(limits, "refusal_audit_max_keys", "limits.refusal_audit_max_keys",
           c.limits().refusal_audit_max_keys(), 1, 10000);
  in_range(limits, "per_principal_max_concurrent_calls",
           "limits.per_principal_max_concurrent_calls",
           c.limits().per_principal_max_concurrent_calls(), 1, 100000);
  in_range(limits, "max_open_streams", "limits.max_open_streams", c.limits().max_open_streams(), 1,
           100000);
  in_range(limits, "per_principal_max_open_streams", "limits.per_principal_max_open_streams",
           c.limits().per_principal_max_open_streams(), 1, 10000);
  const Where server{
      tree.GetTreeForNested(DsardConfig::descriptor()->FindFieldByName("server"), -1),
      dsar::config::v1::ServerConfig::descriptor()};
  const auto& sv = c.server();
  in_range(server, "max_concurrent_streams_per_connection",
           "server.max_concurrent_streams_per_connection",
           sv.max_concurrent_streams_per_connection(), 1, 10000);
  in_range(server, "keepalive_time_seconds", "server.keepalive_time_seconds",
           sv.keepalive_time_seconds(), 10, 86400);
  in_range(server, "keepalive_timeout_seconds", "server.keepalive_timeout_seconds",
           sv.keepalive_timeout_seconds(), 1, 3600);
  in_range(server, "min_client_ping_interval_seconds", "server.min_client_ping_interval_seconds",
           sv.min_client_ping_interval_seconds(), 1, 86400);
  in_range(server, "max_connection_idle_seconds", "server.max_connection_idle_seconds",
           sv.max_connection_idle_seconds(), 1, 7 * 86400);
  in_range(server, "max_connection_age_seconds", "server.max_connection_age_seconds",
           sv.max_connection_age_seconds(), 1, 30 * 86400);
  in_range(server, "max_connection_age_grace_seconds", "server.max_connection_age_grace_seconds",
           sv.max_connection_age_grace_seconds(), 1, 86400);
  in_range(server, "resource_quota_mib", "server.resource_quota_mib", sv.resource_quota_mib(), 16,
           65536);
  if (c.has_tls()) {
    const Where tls{tree.GetTreeForNested(DsardConfig::descriptor()->FindFieldByName("tls"), -1),
                    dsar::config::v1::TlsConfig::descriptor()};
    if (c.tls().cert_file().empty()) v.Fail(tls, "cert_file", "tls.cert_file", "required");
    if (c.tls().key_file().empty()) v.Fail(tls, "key_file", "tls.key_file", "required");
    if (c.tls().require_client_cert() && c.tls().client_ca_file().empty()) {
      v.Fail(tls, "client_ca_file", "tls.client_ca_file", "required with require_client_cert");
    }
    in_range(tls, "refresh_interval_seconds", "tls.refresh_interval_seconds",
             c.tls().refresh_interval_seconds(), 1, 86400);
  }
  ValidateConnectors(c, tree, v);
  ValidateDeadline(c, tree, v);
  ValidateOps(c, tree, v);
}

void ApplyDefaults(DsardConfig& c) {
  if (c.max_message_bytes() == 0) c.set_max_message_bytes(4 << 20);
  if (c.shutdown_grace_ms() == 0) c.set_shutdown_grace_ms(5000);
  if (c.read_pool_size() == 0) c.set_read_pool_size(4);
  if (c.read_acquire_timeout_ms() == 0) c.set_read_acquire_timeout_ms(2000);
  if (c.audit_anchor_interval_seconds() == 0) c.set_audit_anchor_interval_seconds(3600);
  if (c.idempotency_retention_days() == 0) c.set_idempotency_retention_days(30);
  if (c.consent_index_max_entries() == 0) c.set_consent_index_max_entries(2000000);
  if (c.writer().max_group_size() == 0) c.mutable_writer()->set_max_group_size(512);
  if (c.writer().max_queue_depth() == 0) c.mutable_writer()->set_max_queue_depth(100000);
  if (c.log_level().empty()) c.set_log_level("info");
  if (c.limits().max_concurrent_calls() == 0) c.mutable_limits()->set_max_concurrent_calls(1024);
  if (c.limits().refusal_audit_window_seconds() == 0) {
    c.mutable_limits()->set_refusal_audit_window_seconds(60);
  }
  if (c.limits().refusal_audit_max_keys() == 0) c.mutable_limits()->set_refusal_audit_max_keys(100);
  if (c.limits().per_principal_max_concurrent_calls() == 0) {
    c.mutable_limits()->set_per_principal_max_concurrent_calls(64);
  }
  if (c.limits().max_open_streams() == 0) c.mutable_limits()->set_max_open_streams(256);
  if (c.limits().per_principal_max_open_streams() == 0) {
    c.mutable_limits()->set_per_principal_max_open_streams(8);
  }
  if (c.limits().per_principal_burst() == 0) {
    c.mutable_limits()->set_per_principal_burst(
        std::max(1, static_cast<int>(c.limits().per_principal_rps())));
  }
  auto* sv = c.mutable_server();
  if (sv->max_concurrent_streams_per_connection() == 0) {
    sv->set_max_concurrent_streams_per_connection(100);
  }
  if (sv->keepalive_time_seconds() == 0) sv->set_keepalive_time_seconds(300);
  if (sv->keepalive_timeout_seconds() == 0) sv->set_keepalive_timeout_seconds(20);
  if (sv->min_client_ping_interval_seconds() == 0) sv->set_min_client_ping_interval_seconds(60);
  if (sv->max_connection_idle_seconds() == 0) sv->set_max_connection_idle_seconds(1800);
  if (sv->max_connection_age_seconds() == 0) sv->set_max_connection_age_seconds(86400);
  if (sv->max_connection_age_grace_seconds() == 0) sv->set_max_connection_age_grace_seconds(600);
  if (sv->resource_quota_mib() == 0) sv->set_resource_quota_mib(512);
  if (c.has_tls() && c.tls().refresh_interval_seconds() == 0) {
    c.mutable_tls()->set_refresh_interval_seconds(10);
  }
  for (auto& k : *c.mutable_connectors()) {
    if (k.call_timeout_ms() == 0) k.set_call_timeout_ms(5000);
    if (k.export_timeout_ms() == 0) k.set_export_timeout_ms(300000);
    if (k.max_attempts() == 0) k.set_max_attempts(8);
    if (k.max_concurrency() == 0) k.set_max_concurrency(4);
    if (k.initial_backoff_ms() == 0) k.set_initial_backoff_ms(200);
    if (k.max_backoff_ms() == 0) k.set_max_backoff_ms(std::max(60000, k.initial_backoff_ms()));
    auto* b = k.mutable_breaker();
    if (b->failure_threshold() == 0) b->set_failure_threshold(5);
    if (b->open_ms() == 0) b->set_open_ms(30000);
    if (b->half_open_calls() == 0) b->set_half_open_calls(1);
  }
  if (c.backup().keep() == 0) c.mutable_backup()->set_keep(7);
  auto* o = c.mutable_outbox();
  if (o->poll_interval_ms() == 0) o->set_poll_interval_ms(1000);
  if (o->health_interval_ms() == 0) o->set_health_interval_ms(10000);
  if (o->waiting_poll_ms() == 0) o->set_waiting_poll_ms(2000);
}

}  // namespace

bool IsLoopbackAddress(absl::string_view host_port) {
  absl::string_view host = host_port;
  if (absl::StartsWith(host, "[")) {
    auto end = host.find(']');
    host = end == absl::string_view::npos ? host : host.substr(1, end - 1);
  } else if (auto colon = host.rfind(':');
             colon != absl::string_view::npos && host.find(':') == colon) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<DsardConfig> ParseDsardConfig(absl::string_view text,
                                             absl::string_view source_name) {
  DsardConfig config;
  TextFormat::Parser parser;
  CollectingErrors errors(source_name);
  TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &config)) {
    if (errors.errors().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(source_name, ": cannot parse config"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors.errors(), "\n"));
  }
  Validator validator(source_name);
  Validate(config, tree, validator);
  if (!validator.errors().empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(validator.errors(), "\n"));
  }
  ApplyDefaults(config);
  return config;
}

absl::StatusOr<DsardConfig> LoadDsardConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open config file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat(path, ": cannot read config file"));
  return ParseDsardConfig(buffer.str(), path);
}

}  // namespace dsar
