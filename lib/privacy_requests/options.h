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

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dsar/config/v1/config.pb.h"

namespace dsar::privacy_requests {

// What the export tells the person about a system's data (Art. 15(1)(d) and
// (g)), beyond what the connector registry says.
struct CategoryNotice {
  std::string connector;
  std::string category;   // empty: every category of the connector
  std::string retention;  // e.g. "12 months after the customer relationship ends"
  std::string source;     // where the data came from
};

struct RequestOptions {
  std::string export_dir;  // encrypted bundles and their parts
  absl::Duration export_ttl = absl::Hours(24 * 7);
  bool pause_clock_until_verified = false;
  std::string callback_secret;  // empty: status callbacks are refused
  absl::Duration callback_timeout = absl::Seconds(10);
  int callback_max_attempts = 20;
  std::vector<CategoryNotice> notices;
  absl::Duration relationship_retention = absl::Hours(24 * 365);
  absl::Duration retention_scan_interval = absl::ZeroDuration();  // zero: no retention job
  // Review: retention erasures wait in RECEIVED for the DPO.
  bool retention_review = false;
  int retention_max_erasures_per_scan = 1000;  // per tenant; above it all are held
  absl::Duration worker_poll = absl::Seconds(1);

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
