#include "lib/deadline/levels.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace dsar::deadline {
namespace {

// Warning offsets (negative) and "due" (zero), ascending.
std::vector<absl::Duration> FixedOffsets(const AlertLevels& levels) {
  std::vector<absl::Duration> out;
  out.reserve(levels.warn_before.size() + 1);
  for (absl::Duration w : levels.warn_before) out.push_back(-w);
  out.push_back(absl::ZeroDuration());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string ShortDuration(absl::Duration d) {
  if (d % absl::Hours(1) == absl::ZeroDuration()) return absl::StrCat(d / absl::Hours(1), "h");
  if (d % absl::Minutes(1) == absl::ZeroDuration()) {
    return absl::StrCat(d / absl::Minutes(1), "m");
  }
  return absl::FormatDuration(d);
}

// Whole multiples of `den` in `num` (abseil 20220623 requires a remainder
// pointer).
int64_t Quotient(absl::Duration num, absl::Duration den) {
  absl::Duration rem;
  return absl::IDivDuration(num, den, &rem);
}

}  // namespace

absl::Status ValidateLevels(const AlertLevels& levels) {
  for (absl::Duration w : levels.warn_before) {
    if (w <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("alert warnings must be a positive time before due");
    }
  }
  if (levels.overdue_every < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("overdue_every must not be negative");
  }
  return absl::OkStatus();
}

std::optional<absl::Duration> NextLevelAfter(const AlertLevels& levels, absl::Duration after) {
  for (absl::Duration offset : FixedOffsets(levels)) {
    if (offset > after) return offset;
  }
  // After "due": overdue reminders.
  if (levels.overdue_every <= absl::ZeroDuration()) return std::nullopt;
  const int64_t k = Quotient(after, levels.overdue_every) + 1;
  return levels.overdue_every * k;
}

absl::Duration StartLevel(const AlertLevels& levels, absl::Time due, absl::Time now) {
  const absl::Duration elapsed = now - due;  // negative before due
  if (elapsed >= absl::ZeroDuration()) {
    if (levels.overdue_every <= absl::ZeroDuration()) return absl::ZeroDuration();
    return levels.overdue_every * Quotient(elapsed, levels.overdue_every);
  }
  const std::vector<absl::Duration> fixed = FixedOffsets(levels);
  absl::Duration start = fixed.front();
  for (absl::Duration offset : fixed) {
    if (offset <= elapsed) start = offset;
  }
  return start;
}

AlertLevel LevelOf(absl::Duration offset) {
  if (offset < absl::ZeroDuration()) return AlertLevel::kWarning;
  if (offset == absl::ZeroDuration()) return AlertLevel::kDue;
  return AlertLevel::kOverdue;
}

const char* AlertLevelName(AlertLevel level) {
  switch (level) {
    case AlertLevel::kWarning:
      return "WARNING";
    case AlertLevel::kDue:
      return "DUE";
    case AlertLevel::kOverdue:
      return "OVERDUE";
  }
  return "UNKNOWN";
}

std::string LevelLabel(absl::Duration offset) {
  switch (LevelOf(offset)) {
    case AlertLevel::kWarning:
      return absl::StrCat("T-", ShortDuration(-offset));
    case AlertLevel::kDue:
      return "due";
    case AlertLevel::kOverdue:
      return absl::StrCat("overdue+", ShortDuration(offset));
  }
  return "";
}

}  // namespace dsar::deadline
