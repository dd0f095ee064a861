#include "lib/deadline/levels.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace dsar::deadline {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;

TEST(LevelsTest, DefaultSequenceIsTMinus24hTMinus4hDueThenDailyOverdue) {
  AlertLevels levels;
  std::vector<absl::Duration> seq;
  absl::Duration at = -absl::Hours(1000);
  for (int i = 0; i < 6; ++i) {
    auto next = NextLevelAfter(levels, at);
    ASSERT_TRUE(next.has_value());
    seq.push_back(*next);
    at = *next;
  }
  EXPECT_THAT(seq, ::testing::ElementsAre(-absl::Hours(24), -absl::Hours(4), absl::ZeroDuration(),
                                          absl::Hours(24), absl::Hours(48), absl::Hours(72)));
}

TEST(LevelsTest, NoOverdueRepeatsWhenDisabled) {
  AlertLevels levels;
  levels.overdue_every = absl::ZeroDuration();
  EXPECT_EQ(NextLevelAfter(levels, -absl::Hours(4)), absl::ZeroDuration());
  EXPECT_EQ(NextLevelAfter(levels, absl::ZeroDuration()), std::nullopt);
}

TEST(LevelsTest, StartLevelIsTheLatestPassedLevelOrTheFirst) {
  AlertLevels levels;
  const absl::Time due = absl::FromUnixSeconds(1767225600);
  EXPECT_EQ(StartLevel(levels, due, due - absl::Hours(72)), -absl::Hours(24));
  EXPECT_EQ(StartLevel(levels, due, due - absl::Hours(24)), -absl::Hours(24));
  EXPECT_EQ(StartLevel(levels, due, due - absl::Hours(2)), -absl::Hours(4));
  EXPECT_EQ(StartLevel(levels, due, due), absl::ZeroDuration());
  EXPECT_EQ(StartLevel(levels, due, due + absl::Hours(30)), absl::Hours(24));
  EXPECT_EQ(StartLevel(levels, due, due + absl::Hours(100)), absl::Hours(96));
  levels.overdue_every = absl::ZeroDuration();
  EXPECT_EQ(StartLevel(levels, due, due + absl::Hours(100)), absl::ZeroDuration());
  levels.warn_before.clear();
  EXPECT_EQ(StartLevel(levels, due, due - absl::Hours(100)), absl::ZeroDuration());
}

TEST(LevelsTest, LabelsAndKinds) {
  EXPECT_EQ(LevelLabel(-absl::Hours(24)), "T-24h");
  EXPECT_EQ(LevelLabel(-absl::Minutes(30)), "T-30m");
  EXPECT_EQ(LevelLabel(absl::ZeroDuration()), "due");
  EXPECT_EQ(LevelLabel(absl::Hours(48)), "overdue+48h");
  EXPECT_EQ(LevelOf(-absl::Hours(4)), AlertLevel::kWarning);
  EXPECT_EQ(LevelOf(absl::ZeroDuration()), AlertLevel::kDue);
  EXPECT_EQ(LevelOf(absl::Hours(24)), AlertLevel::kOverdue);
}

TEST(LevelsTest, ValidateRejectsNonPositiveWarningsAndNegativeRepeat) {
  AlertLevels levels;
  EXPECT_THAT(ValidateLevels(levels), IsOk());
  levels.warn_before = {absl::ZeroDuration()};
  EXPECT_THAT(ValidateLevels(levels), StatusIs(absl::StatusCode::kInvalidArgument));
  levels.warn_before = {absl::Hours(1)};
  levels.overdue_every = -absl::Hours(1);
  EXPECT_THAT(ValidateLevels(levels), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace dsar::deadline
