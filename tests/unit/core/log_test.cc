// Structured logging: a log::Batch prints exactly the lines log::Write would,
// one JSON object per line with its own time and level, in one write.
#include "lib/core/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"
#include "lib/core/json_string.h"

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

// The text after `{"ts":...,"level":"...",` of each line, without the final "}".
std::vector<std::string> Bodies(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const size_t level = line.find("\"level\":\"");
    const size_t body = line.find("\",", level + 9);
    out.emplace_back(line.substr(body + 2, line.size() - body - 3));
  }
  return out;
}

TEST(LogTest, FieldsAreFormattedExactlyAsNlohmannJsonDumpsThem) {
  ASSERT_TRUE(Init("info").ok());
  // What each line below must carry: nlohmann's dump of the same object.
  auto expected = [](nlohmann::json obj) {
    std::string text = obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return text.substr(1, text.size() - 2);
  };
  std::vector<std::string> want;
  ::testing::internal::CaptureStderr();
  Write(Level::kInfo, "plain", {{"zeta", "z"}, {"alpha", 1}, {"mid", true}, {"neg", int64_t{-7}}});
  want.push_back(
      expected({{"event", "plain"}, {"zeta", "z"}, {"alpha", 1}, {"mid", true}, {"neg", -7}}));
  Write(Level::kInfo, "escapes",
        {{"s", std::string("q\"b\\s/\b\f\n\r\t\x01\x1f\x7f end")}, {"off", false}});
  want.push_back(expected({{"event", "escapes"},
                           {"s", std::string("q\"b\\s/\b\f\n\r\t\x01\x1f\x7f end")},
                           {"off", false}}));
  // A repeated key keeps its last value; a field named "event" replaces it.
  Write(Level::kInfo, "dup", {{"k", "first"}, {"k", "second"}, {"event", "renamed"}});
  want.push_back(expected({{"event", "renamed"}, {"k", "second"}}));
  // Doubles and non-ASCII text go through nlohmann itself.
  Write(Level::kInfo, "double", {{"ratio", 0.25}, {"n", 3}});
  want.push_back(expected({{"event", "double"}, {"ratio", 0.25}, {"n", 3}}));
  Write(Level::kInfo, "utf8", {{"s", "caf\xc3\xa9"}, {"bad", "\xff"}});
  want.push_back(expected({{"event", "utf8"}, {"s", "caf\xc3\xa9"}, {"bad", "\xff"}}));
  {
    Batch batch;
    batch.Add(Level::kWarn, "batched", {{"alert_id", "alrt_x_1_m86400"}, {"seq", int64_t{42}}});
    want.push_back(expected({{"event", "batched"}, {"alert_id", "alrt_x_1_m86400"}, {"seq", 42}}));
    batch.Add(Level::kError, "batched", {{"alert_id", "alrt_x_1_0"}, {"seq", int64_t{43}}});
    want.push_back(expected({{"event", "batched"}, {"alert_id", "alrt_x_1_0"}, {"seq", 43}}));
  }
  EXPECT_EQ(Bodies(::testing::internal::GetCapturedStderr()), want);
}

// The one escaper of hand-built JSON (log lines, alert payloads) writes what
// nlohmann::json::dump writes, for every byte and for UTF-8 text.
TEST(JsonStringTest, MatchesNlohmannDumpForEveryByte) {
  for (int b = 1; b < 0x80; ++b) {
    const std::string s = std::string("a") + static_cast<char>(b) + "z";
    std::string out;
    AppendJsonString(out, s);
    EXPECT_EQ(out, nlohmann::json(s).dump()) << "byte " << b;
  }
  const std::string utf8 = "Sj\u00f6 \"quoted\" \xc3\xa5\xe2\x82\xac\b\f\x01";
  std::string out;
  AppendJsonString(out, utf8);
  EXPECT_EQ(out, nlohmann::json(utf8).dump());
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), utf8);
}

}  // namespace
}  // namespace dsar::log
