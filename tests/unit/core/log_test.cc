// Structured logging: a log::Batch prints exactly the lines log::Write would,
// one JSON object per line with its own time and level, in one write.
#include "lib/core/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"

namespace dsar::log {
namespace {

std::vector<nlohmann::json> ParseLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

TEST(LogBatchTest, PrintsOneLinePerEventAsWriteWould) {
  ASSERT_TRUE(Init("info").ok());
  ::testing::internal::CaptureStderr();
  Write(Level::kWarn, "single", {{"id", "a-1"}, {"n", 1}});
  {
    Batch batch;
    batch.Add(Level::kWarn, "burst", {{"id", "b-1"}, {"n", 1}});
    batch.Add(Level::kError, "burst", {{"id", "b-\"2\"\n"}, {"n", 2}});
    batch.Add(Level::kDebug, "burst", {{"id", "filtered out"}});  // below "info"
    batch.Add(Level::kInfo, "burst", {{"id", "b-3"}, {"ok", true}});
    batch.Flush();
    batch.Flush();  // nothing left: prints nothing
    batch.Add(Level::kInfo, "after", {{"id", "c-1"}});
  }  // the destructor flushes "after"
  const std::vector<nlohmann::json> lines = ParseLines(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0]["event"], "single");
  EXPECT_EQ(lines[0]["level"], "warning");
  EXPECT_EQ(lines[1]["event"], "burst");
  EXPECT_EQ(lines[1]["level"], "warning");
  EXPECT_EQ(lines[1]["id"], "b-1");
  EXPECT_EQ(lines[2]["level"], "error");
  EXPECT_EQ(lines[2]["id"], "b-\"2\"\n");
  EXPECT_EQ(lines[2]["n"], 2);
  EXPECT_EQ(lines[3]["level"], "info");
  EXPECT_EQ(lines[3]["ok"], true);
  EXPECT_EQ(lines[4]["event"], "after");
  for (const auto& line : lines) {
    // "2026-12-03T09:04:33.295974Z": the logger's own time format.
    ASSERT_TRUE(line.contains("ts"));
    EXPECT_THAT(line["ts"].get<std::string>(),
                ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                                        "\\.[0-9]{6}Z"));
  }
}

}  // namespace
}  // namespace dsar::log
