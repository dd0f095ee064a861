#include "lib/connector/registry.h"

#include <algorithm>

namespace dsar::connector {

bool ConnectorInfo::Accepts(TaskKind kind) const {
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

bool ConnectorInfo::DeclaresPurpose(absl::string_view purpose) const {
  return std::find(purposes.begin(), purposes.end(), purpose) != purposes.end();
}

ConnectorRegistry ConnectorRegistry::FromConfig(const config::v1::DsardConfig& config) {
  std::vector<ConnectorInfo> out;
  for (const auto& c : config.connectors()) {
    ConnectorInfo info;
    info.name = c.name();
    info.tenant = c.tenant();
    info.endpoint.address = c.address();
    info.endpoint.tls = c.has_tls();
    info.endpoint.ca_file = c.tls().ca_file();
    info.endpoint.cert_file = c.tls().cert_file();
    info.endpoint.key_file = c.tls().key_file();
    info.endpoint.server_name = c.tls().server_name();
    info.endpoint.bearer_token_file = c.bearer_token_file();
    if (config.max_message_bytes() > 0) {
      info.endpoint.max_message_bytes = std::max(config.max_message_bytes(), 16 << 20);
    }
    info.call_timeout = absl::Milliseconds(c.call_timeout_ms());
    info.export_timeout = absl::Milliseconds(c.export_timeout_ms());
    info.backoff.max_attempts = c.max_attempts();
    info.max_concurrency = c.max_concurrency();
    info.backoff.initial = absl::Milliseconds(c.initial_backoff_ms());
    info.backoff.max = absl::Milliseconds(c.max_backoff_ms());
    info.breaker.failure_threshold = c.breaker().failure_threshold();
    info.breaker.open_duration = absl::Milliseconds(c.breaker().open_ms());
    info.breaker.half_open_calls = c.breaker().half_open_calls();
    if (c.task_kinds().empty()) {
      info.kinds = {TaskKind::kConsentApply, TaskKind::kSubjectExport, TaskKind::kSubjectErase};
    } else {
      for (const auto& k : c.task_kinds()) {
        if (auto kind = ParseTaskKind(k)) info.kinds.push_back(*kind);
      }
    }
    info.display_name = c.display_name();
    info.purposes.assign(c.purposes().begin(), c.purposes().end());
    info.categories.assign(c.categories().begin(), c.categories().end());
    info.country = c.country();
    info.processor = c.processor();
    for (const auto& sp : c.sub_processors()) {
      info.sub_processors.push_back({sp.name(), sp.country(), sp.service()});
    }
    out.push_back(std::move(info));
  }
  return ConnectorRegistry(std::move(out));
}

const ConnectorInfo* ConnectorRegistry::Find(absl::string_view name) const {
  for (const auto& c : connectors_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<const ConnectorInfo*> ConnectorRegistry::Targets(absl::string_view tenant,
                                                             TaskKind kind,
                                                             absl::string_view purpose) const {
  std::vector<const ConnectorInfo*> out;
  for (const auto& c : connectors_) {
    if (!c.Serves(tenant) || !c.Accepts(kind)) continue;
    if (kind == TaskKind::kConsentApply && !c.DeclaresPurpose(purpose)) continue;
    out.push_back(&c);
  }
  return out;
}

}  // namespace dsar::connector
