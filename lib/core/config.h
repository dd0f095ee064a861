// Loading and validating dsard's text-format configuration.
//
// The whole file is checked before anything starts: syntax errors, unknown
// fields and wrong types are reported by the protobuf text parser with line and
// column; semantic errors (a port out of range, a non-loopback address without
// TLS) name the field and its line. Defaults are filled in only after
// validation, so an explicit bad value is never silently replaced.
#ifndef DSAR_LIB_CORE_CONFIG_H_
#define DSAR_LIB_CORE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dsar/config/v1/config.pb.h"

namespace dsar {

// Reads `path`. Errors: NOT_FOUND (missing/unreadable file) and
// INVALID_ARGUMENT ("<path>:<line>:<col>: <reason>"), both naming the file.
absl::StatusOr<dsar::config::v1::DsardConfig> LoadDsardConfig(const std::string& path);

// Parses `text` as if read from a file called `source_name`.
absl::StatusOr<dsar::config::v1::DsardConfig> ParseDsardConfig(absl::string_view text,
                                                               absl::string_view source_name);

// True for 127.0.0.0/8, ::1 and "localhost" (with or without a port).
bool IsLoopbackAddress(absl::string_view host_port);

}  // namespace dsar

#endif  // DSAR_LIB_CORE_CONFIG_H_
