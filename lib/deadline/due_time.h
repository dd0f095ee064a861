// Due-time arithmetic: elapsed-hour clocks and GDPR calendar months.
//
// Two kinds of period exist in dsar's obligations:
//  - elapsed time ("72 hours", GDPR Art. 33): an absolute duration, the same
//    in every time zone and across daylight-saving changes;
//  - calendar months ("one month", GDPR Art. 12(3)): counted on the calendar
//    of an explicit time zone. Following Regulation (EEC, Euratom) No 1182/71
//    Art. 3(2)(c), which the EDPB applies to Art. 12(3), a period of N months
//    from an event on day D ends with the expiry of the last hour of day D in
//    the N-th following month, or of that month's last day when it has no day
//    D: received 31 January -> ends at the end of 28 (29) February. The due
//    instant is therefore the start of the next local day.
// Working days and public holidays (Art. 3(4) of 1182/71) are not applied.
// All functions are pure and thread-safe.
#ifndef DSAR_LIB_DEADLINE_DUE_TIME_H_
#define DSAR_LIB_DEADLINE_DUE_TIME_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace dsar::deadline {

// How a due time follows from a start: first `calendar_months` (calendar
// rule above, when > 0), then `elapsed` (absolute).
struct DueRule {
  int calendar_months = 0;
  absl::Duration elapsed = absl::ZeroDuration();
};

// The day `months` after `day`, clamped to the last day of that month
// (Jan 31 + 1 -> Feb 28/29). `months` may be 0 (returns `day`).
absl::CivilDay SameDayMonthsLater(absl::CivilDay day, int months);

// End of the period of `months` calendar months starting at `start`, in `tz`:
// the first instant of the local day after SameDayMonthsLater(local day of
// start, months). With months == 0 returns `start`.
absl::Time AddCalendarMonths(absl::Time start, int months, absl::TimeZone tz);

// Applies `rule` to `start` in `tz`.
absl::Time ComputeDue(absl::Time start, const DueRule& rule, absl::TimeZone tz);

// Loads an IANA zone such as "Europe/Stockholm" (from the system's tzdata).
// Empty means UTC. INVALID_ARGUMENT when the zone is unknown.
absl::StatusOr<absl::TimeZone> LoadTimeZone(absl::string_view name);

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_DUE_TIME_H_
