// The deadline module's resource names: "deadlines/{deadline_id}" and
// "alerts/{alert_id}", one constant per collection with its format and parse
// helpers, so no other file spells the prefixes.
#ifndef DSAR_LIB_DEADLINE_RESOURCE_NAMES_H_
#define DSAR_LIB_DEADLINE_RESOURCE_NAMES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dsar::deadline {

inline constexpr absl::string_view kDeadlinesCollection = "deadlines/";
inline constexpr absl::string_view kAlertsCollection = "alerts/";

std::string DeadlineName(absl::string_view deadline_id);
std::string AlertName(absl::string_view alert_id);

// The alert id in "alerts/{alert_id}"; INVALID_ARGUMENT (field `field`)
// when `name` is not of that form or the id is empty.
absl::StatusOr<std::string> ParseAlertName(absl::string_view name,
                                           absl::string_view field = "name");

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_RESOURCE_NAMES_H_
