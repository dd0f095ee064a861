// Alert levels: when, relative to a deadline's due time, an alert fires.
//
// A level is an offset from the due time: negative offsets are warnings
// ("T-24h"), zero is "due", positive offsets are overdue reminders repeated
// every `overdue_every`. Offsets are what the database stores (alerts are
// unique per deadline, due version and offset), so changing the configured
// levels applies to pending levels without renumbering anything.
// Pure functions; thread-safe.
#ifndef DSAR_LIB_DEADLINE_LEVELS_H_
#define DSAR_LIB_DEADLINE_LEVELS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace dsar::deadline {

enum class AlertLevel { kWarning, kDue, kOverdue };

struct AlertLevels {
  // Warnings this long before the due time (each > 0; order does not matter).
  std::vector<absl::Duration> warn_before = {absl::Hours(24), absl::Hours(4)};
  // Overdue reminders at due + k * overdue_every, k >= 1; zero disables them.
  absl::Duration overdue_every = absl::Hours(24);
};

// INVALID_ARGUMENT when a warning is not positive or overdue_every is negative.
absl::Status ValidateLevels(const AlertLevels& levels);

// The first level offset strictly after `after`, or nullopt when none is left.
std::optional<absl::Duration> NextLevelAfter(const AlertLevels& levels, absl::Duration after);

// The level a deadline due at `due` starts at when it is scheduled (or
// re-armed by an extension) at `now`: the latest level whose time has already
// passed, so the current state is alerted once and at once (a breach reported
// 70 hours after awareness fires "T-4h" immediately), or else the first level.
absl::Duration StartLevel(const AlertLevels& levels, absl::Time due, absl::Time now);

AlertLevel LevelOf(absl::Duration offset);
const char* AlertLevelName(AlertLevel level);  // "WARNING", "DUE", "OVERDUE"
// Human label: "T-24h", "T-30m", "due", "overdue+48h".
std::string LevelLabel(absl::Duration offset);

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_LEVELS_H_
