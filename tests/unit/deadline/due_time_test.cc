// Due-time arithmetic: 72-hour clocks and GDPR calendar months, in an explicit
// zone, around month ends, leap years and DST changes (Europe/Stockholm).
#include "lib/deadline/due_time.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace dsar::deadline {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;

absl::TimeZone Stockholm() {
  auto tz = LoadTimeZone("Europe/Stockholm");
  EXPECT_THAT(tz, IsOk());
  return tz.ok() ? *tz : absl::UTCTimeZone();
}

absl::Time Local(absl::TimeZone tz, int y, int mo, int d, int h = 0, int mi = 0) {
  return tz.At(absl::CivilSecond(y, mo, d, h, mi, 0)).pre;
}

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return Local(absl::UTCTimeZone(), y, mo, d, h, mi);
}

TEST(SameDayMonthsLaterTest, ClampsToTheLastDayOfShorterMonths) {
  EXPECT_EQ(SameDayMonthsLater(absl::CivilDay(2026, 1, 31), 1), absl::CivilDay(2026, 2, 28));
  EXPECT_EQ(SameDayMonthsLater(absl::CivilDay(2028, 1, 31), 1), absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(SameDayMonthsLater(absl::CivilDay(2026, 3, 31), 1), absl::CivilDay(2026, 4, 30));
  EXPECT_EQ(SameDayMonthsLater(absl::CivilDay(2026, 1, 15), 1), absl::CivilDay(2026, 2, 15));
  EXPECT_EQ(SameDayMonthsLater(absl::CivilDay(2026, 12, 31), 2), absl::CivilDay(2027, 2, 28));
  EXPECT_EQ(SameDayMonthsLater(absl::CivilDay(2028, 2, 29), 12), absl::CivilDay(2029, 2, 28));
  EXPECT_EQ(SameDayMonthsLater(absl::CivilDay(2026, 11, 30), 3), absl::CivilDay(2027, 2, 28));
  EXPECT_EQ(SameDayMonthsLater(absl::CivilDay(2026, 5, 20), 0), absl::CivilDay(2026, 5, 20));
}

TEST(AddCalendarMonthsTest, EndsAtTheEndOfTheSameDateNextMonth) {
  // Received 15 January 10:00 -> due at the end of 15 February.
  EXPECT_EQ(AddCalendarMonths(Utc(2026, 1, 15, 10), 1, absl::UTCTimeZone()), Utc(2026, 2, 16));
}

TEST(AddCalendarMonthsTest, January31EndsWithFebruary28Or29) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_EQ(AddCalendarMonths(Utc(2026, 1, 31, 9), 1, utc), Utc(2026, 3, 1));  // end of Feb 28
  EXPECT_EQ(AddCalendarMonths(Utc(2028, 1, 31, 9), 1, utc), Utc(2028, 3, 1));  // end of Feb 29
  // 28 January: the leap day makes the difference.
  EXPECT_EQ(AddCalendarMonths(Utc(2027, 1, 28, 9), 1, utc), Utc(2027, 3, 1));
  EXPECT_EQ(AddCalendarMonths(Utc(2028, 1, 28, 9), 1, utc), Utc(2028, 2, 29));
}

TEST(AddCalendarMonthsTest, CountsDaysOnTheCalendarOfTheGivenZone) {
  // 23:30 UTC on 31 January is already 1 February in Stockholm.
  const absl::Time received = Utc(2026, 1, 31, 23, 30);
  EXPECT_EQ(AddCalendarMonths(received, 1, absl::UTCTimeZone()), Utc(2026, 3, 1));
  EXPECT_EQ(AddCalendarMonths(received, 1, Stockholm()), Local(Stockholm(), 2026, 3, 2));
  EXPECT_EQ(Local(Stockholm(), 2026, 3, 2), Utc(2026, 3, 1, 23));
}

TEST(AddCalendarMonthsTest, EndsAtLocalMidnightAcrossDaylightSavingChanges) {
  const absl::TimeZone tz = Stockholm();
  // Spring forward on 29 March 2026: received in CET, due in CEST.
  EXPECT_EQ(AddCalendarMonths(Local(tz, 2026, 3, 10, 9), 1, tz), Utc(2026, 4, 10, 22));
  // Fall back on 25 October 2026: the last day has 25 hours; due in CET.
  EXPECT_EQ(AddCalendarMonths(Local(tz, 2026, 9, 25, 9), 1, tz), Utc(2026, 10, 25, 23));
  // The GDPR outer limit of 3 months from 30 November ends with 28 February.
  EXPECT_EQ(AddCalendarMonths(Local(tz, 2026, 11, 30, 16), 3, tz), Local(tz, 2027, 3, 1));
}

TEST(ComputeDueTest, HourClocksAreElapsedTimeAcrossDaylightSavingChanges) {
  const absl::TimeZone tz = Stockholm();
  const DueRule hours72{0, absl::Hours(72)};
  // Saturday 28 March 2026 12:00 CET + 72 h = Tuesday 31 March 13:00 CEST.
  EXPECT_EQ(ComputeDue(Local(tz, 2026, 3, 28, 12), hours72, tz), Local(tz, 2026, 3, 31, 13));
  // Saturday 24 October 2026 12:00 CEST + 72 h = Tuesday 27 October 11:00 CET.
  EXPECT_EQ(ComputeDue(Local(tz, 2026, 10, 24, 12), hours72, tz), Local(tz, 2026, 10, 27, 11));
  EXPECT_EQ(ComputeDue(Utc(2026, 2, 27, 8), hours72, absl::UTCTimeZone()), Utc(2026, 3, 2, 8));
}

TEST(ComputeDueTest, AppliesMonthsThenElapsedTime) {
  const DueRule rule{1, absl::Hours(2)};
  EXPECT_EQ(ComputeDue(Utc(2026, 1, 15, 10), rule, absl::UTCTimeZone()), Utc(2026, 2, 16, 2));
}

TEST(LoadTimeZoneTest, EmptyIsUtcAndUnknownIsInvalidArgument) {
  auto utc = LoadTimeZone("");
  ASSERT_THAT(utc, IsOk());
  EXPECT_EQ(*utc, absl::UTCTimeZone());
  EXPECT_THAT(LoadTimeZone("Mars/Olympus_Mons"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace dsar::deadline
