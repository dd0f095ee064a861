#include "lib/store/page_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"

namespace dsar::store {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

TEST(PageTokenTest, RoundTripsThePositionForTheSameFilter) {
  const std::string tag = PageFilterTag({"acme-travel", "3"});
  const std::string token = EncodePageToken({"1767225600000000", "pr_abc"}, tag);
  EXPECT_THAT(DecodePageToken(token, tag, 2), Optional(ElementsAre("1767225600000000", "pr_abc")));
  EXPECT_THAT(DecodeSeqPageToken(EncodePageToken({"42"}, tag), tag), Optional(42));
}

TEST(PageTokenTest, ATokenOfAnotherFilterOrTenantIsRefused) {
  const std::string token = EncodePageToken({"42"}, PageFilterTag({"acme-travel", "3"}));
  EXPECT_EQ(DecodeSeqPageToken(token, PageFilterTag({"other-tenant", "3"})), std::nullopt);
  EXPECT_EQ(DecodeSeqPageToken(token, PageFilterTag({"acme-travel", "4"})), std::nullopt);
  // Length-prefixed parts: ("ab", "c") and ("a", "bc") are different filters.
  EXPECT_NE(PageFilterTag({"ab", "c"}), PageFilterTag({"a", "bc"}));
}

TEST(PageTokenTest, MalformedTokensAreRefused) {
  const std::string tag = PageFilterTag({"t"});
  for (const std::string& token :
       {std::string(), std::string("***"), absl::WebSafeBase64Escape("42"),
        absl::WebSafeBase64Escape(":" + tag), absl::WebSafeBase64Escape("0:" + tag),
        absl::WebSafeBase64Escape("-5:" + tag), absl::WebSafeBase64Escape("x:" + tag),
        absl::WebSafeBase64Escape("1:2:" + tag), EncodePageToken({"1", "2"}, tag)}) {
    EXPECT_EQ(DecodeSeqPageToken(token, tag), std::nullopt) << token;
  }
  EXPECT_EQ(DecodePageToken(absl::WebSafeBase64Escape("1::" + tag), tag, 2), std::nullopt);
}

}  // namespace
}  // namespace dsar::store
