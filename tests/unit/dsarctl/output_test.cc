#include "tools/dsarctl/output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace dsar::dsarctl {
namespace {

using ::testing::HasSubstr;

TEST(EscapeControlTest, EveryControlCharacterBecomesText) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string escaped = EscapeControl(std::string(1, static_cast<char>(c)));
    EXPECT_EQ(escaped.size(), 4u) << c;
    EXPECT_EQ(escaped.substr(0, 2), "\\x") << c;
  }
  EXPECT_EQ(EscapeControl("\x7f"), "\\x7f");
  EXPECT_EQ(EscapeControl("a\x1b]0;title\x07z"), "a\\x1b]0;title\\x07z");
  EXPECT_EQ(EscapeControl("\xc2\x9b"
                          "31m"),
            "\\u009b31m");
  EXPECT_EQ(EscapeControl("\xc2\x80\xc2\x9f"), "\\u0080\\u009f");
}

TEST(EscapeControlTest, PrintableTextAndOtherUtf8StayAsTheyAre) {
  EXPECT_EQ(EscapeControl("Åsa Öberg: 100 % – ok \\ done"), "Åsa Öberg: 100 % – ok \\ done");
  EXPECT_EQ(EscapeControl("\xc2\xa0"), "\xc2\xa0");  // U+00A0 is not a control
}

TEST(EscapeControlTest, TablesAndKeyValuesEscapeTheirCells) {
  Table table({"A", "B"});
  table.AddRow({"x\x1b[2J", "\ny"});
  std::ostringstream out;
  table.Print(out);
  EXPECT_EQ(out.str(), "A" + std::string(9, ' ') + "B\nx\\x1b[2J  \\x0ay\n");
  std::ostringstream kv;
  PrintKeyValues(kv, {{"reason", "a\rb"}});
  EXPECT_THAT(kv.str(), HasSubstr("a\\x0db"));
  EXPECT_EQ(kv.str().find('\r'), std::string::npos);
}

}  // namespace
}  // namespace dsar::dsarctl
