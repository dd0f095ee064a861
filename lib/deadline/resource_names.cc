#include "lib/deadline/resource_names.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/core/errors.h"

namespace dsar::deadline {

std::string DeadlineName(absl::string_view deadline_id) {
  return absl::StrCat(kDeadlinesCollection, deadline_id);
}

std::string AlertName(absl::string_view alert_id) {
  return absl::StrCat(kAlertsCollection, alert_id);
}

absl::StatusOr<std::string> ParseAlertName(absl::string_view name, absl::string_view field) {
  if (!absl::ConsumePrefix(&name, kAlertsCollection) || name.empty()) {
    return InvalidField(field, absl::StrCat("must be ", kAlertsCollection, "{alert_id}"));
  }
  return std::string(name);
}

}  // namespace dsar::deadline
