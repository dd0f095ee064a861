#include "lib/deadline/due_time.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace dsar::deadline {

absl::CivilDay SameDayMonthsLater(absl::CivilDay day, int months) {
  const absl::CivilMonth month = absl::CivilMonth(day) + months;
  const absl::CivilDay last_of_month = absl::CivilDay(month + 1) - 1;
  const int d = day.day() < last_of_month.day() ? day.day() : last_of_month.day();
  return absl::CivilDay(month.year(), month.month(), d);
}

absl::Time AddCalendarMonths(absl::Time start, int months, absl::TimeZone tz) {
  if (months == 0) return start;
  const absl::CivilDay start_day = absl::ToCivilDay(start, tz);
  const absl::CivilDay last_day = SameDayMonthsLater(start_day, months);
  // Start of the following local day; `pre` picks the usual instant when a
  // zone skips or repeats midnight.
  return tz.At(absl::CivilSecond(last_day + 1)).pre;
}

absl::Time ComputeDue(absl::Time start, const DueRule& rule, absl::TimeZone tz) {
  return AddCalendarMonths(start, rule.calendar_months, tz) + rule.elapsed;
}

absl::StatusOr<absl::TimeZone> LoadTimeZone(absl::string_view name) {
  if (name.empty()) return absl::UTCTimeZone();
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(std::string(name), &tz)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown time zone \"", name, "\" (install tzdata?)"));
  }
  return tz;
}

}  // namespace dsar::deadline
