// RequestOptions: how data-subject requests behave, from DsardConfig.requests.
//
// Plain values with defaults (export bundles live 7 days; clocks run while
// identity is pending unless configured to pause; the retention job is off
// unless an interval is set). FromConfig validates the section and names the
// bad field ("requests.export_ttl_hours: ..."), as the rest of the config is
// validated at start.
#ifndef DSAR_LIB_PRIVACY_REQUESTS_OPTIONS_H_
#define DSAR_LIB_PRIVACY_REQUESTS_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dsar/config/v1/config.pb.h"
#include "lib/delivery/outbound_url.h"

namespace dsar::privacy_requests {

// What the export tells the person about a system's data (Art. 15(1)(d) and
// (g)), beyond what the connector registry says.
struct CategoryNotice {
  std::string connector;
  std::string category;   // empty: every category of the connector
  std::string retention;  // e.g. "12 months after the customer relationship ends"
  std::string source;     // where the data came from
};

// One tenant's status-callback settings (TenantConfig.callback_*).
struct TenantCallbackOptions {
  std::vector<std::string> hosts;  // empty: any host the outbound policy allows
  std::string secret;              // empty: requests.callback_secret_file's
};

struct RequestOptions {
  std::string export_dir;  // encrypted bundles and their parts
  absl::Duration export_ttl = absl::Hours(24 * 7);
  bool pause_clock_until_verified = false;
  std::string callback_secret;  // default for tenants without their own
  absl::flat_hash_map<std::string, TenantCallbackOptions> tenant_callbacks;  // by tenant id
  delivery::OutboundPolicy outbound;       // outbound.allowed_cidrs
  delivery::Resolver* resolver = nullptr;  // not owned; null: the system's
  absl::Duration callback_timeout = absl::Seconds(10);
  int callback_max_attempts = 20;
  std::vector<CategoryNotice> notices;
  absl::Duration relationship_retention = absl::Hours(24 * 365);
  absl::Duration retention_scan_interval = absl::ZeroDuration();  // zero: no retention job
  // Review: retention erasures wait in RECEIVED for the DPO.
  bool retention_review = false;
  int retention_max_erasures_per_scan = 1000;  // per tenant; above it all are held
  absl::Duration worker_poll = absl::Seconds(1);

  // The secret that signs `tenant`'s callbacks; empty: callbacks refused.
  const std::string& CallbackSecret(absl::string_view tenant) const;
  // The hosts `tenant`'s callbacks may name (empty: any allowed host).
  const std::vector<std::string>& CallbackHosts(absl::string_view tenant) const;

  // Retention and source statements for one category of one connector.
  const CategoryNotice* FindNotice(absl::string_view connector, absl::string_view category) const;
};

// Reads config.requests (and secret files it names). INVALID_ARGUMENT naming
// the field; FAILED_PRECONDITION when a named file cannot be read.
absl::StatusOr<RequestOptions> RequestOptionsFromConfig(const config::v1::DsardConfig& config);

// File whose secret wraps export keys: requests.export_key_file, else
// outbox.payload_key_file, else subject_key_file.
std::string ExportKeyFile(const config::v1::DsardConfig& config);

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_OPTIONS_H_
