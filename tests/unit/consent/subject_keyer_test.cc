#include "lib/consent/subject_keyer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dsar::consent {
namespace {

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-unit-test-only";

TEST(SubjectKeyerTest, PreparedTenantsGiveTheSameKeysAsDerivedOnes) {
  auto derived = SubjectKeyer::FromKey(kKey);
  auto prepared = SubjectKeyer::FromKey(kKey, {"tenant-a", "tenant-b"});
  ASSERT_TRUE(derived.ok());
  ASSERT_TRUE(prepared.ok());
  for (const char* tenant : {"tenant-a", "tenant-b", "tenant-unprepared"}) {
    for (const char* subject : {"subject-0001", "subject-0002", ""}) {
      EXPECT_EQ((*prepared)->Key(tenant, subject), (*derived)->Key(tenant, subject))
          << tenant << " " << subject;
    }
  }
  // Calls do not disturb the prepared state.
  EXPECT_EQ((*prepared)->Key("tenant-a", "subject-0001"),
            (*prepared)->Key("tenant-a", "subject-0001"));
}

TEST(SubjectKeyerTest, KeysDifferByTenantAndSubject) {
  auto keyer = SubjectKeyer::FromKey(kKey, {"tenant-a", "tenant-b"});
  ASSERT_TRUE(keyer.ok());
  const std::string a1 = (*keyer)->Key("tenant-a", "subject-0001");
  EXPECT_EQ(a1.size(), 32u);
  EXPECT_NE(a1, (*keyer)->Key("tenant-b", "subject-0001"));
  EXPECT_NE(a1, (*keyer)->Key("tenant-a", "subject-0002"));
  EXPECT_THAT((*keyer)->Pseudonym("tenant-a", "subject-0001"),
              ::testing::StartsWith("hmac-sha256:"));
}

TEST(SubjectKeyerTest, ShortKeyIsRefused) {
  EXPECT_EQ(SubjectKeyer::FromKey("too-short", {"tenant-a"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace dsar::consent
