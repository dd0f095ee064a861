#include "lib/consent/language_tag.h"

#include <gtest/gtest.h>

namespace dsar::consent {
namespace {

TEST(LanguageTagTest, AcceptsWellFormedTags) {
  for (const char* tag :
       {"sv", "sv-SE", "en-GB", "de", "zh-Hant-TW", "es-419", "fil", "sl-rozaj", "de-CH-1901",
        "en-US-x-twain", "x-private", "zh-yue-HK", "en-a-bbb-ccc", "SV-se"}) {
    EXPECT_TRUE(IsWellFormedLanguageTag(tag)) << tag;
  }
}

TEST(LanguageTagTest, RejectsMalformedTags) {
  for (const char* tag : {"", "s", "swedish!", "sv-", "-SE", "sv--SE", "sv_SE", "en-GB-", "1234",
                          "sv-SE-a", "en-x", "toolonglanguage", "sv SE", "abcd"}) {
    EXPECT_FALSE(IsWellFormedLanguageTag(tag)) << tag;
  }
}

}  // namespace
}  // namespace dsar::consent
