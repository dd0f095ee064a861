#include "lib/consent/subject_keyer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dsar::consent {
namespace {

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-unit-test-only";

SubjectIdentifier Customer(const char* value) { return {IdentifierType::kCustomerId, value}; }

TEST(SubjectKeyerTest, PreparedTenantsGiveTheSameKeysAsDerivedOnes) {
  auto derived = SubjectKeyer::FromKey(kKey);
  auto prepared = SubjectKeyer::FromKey(kKey, {"tenant-a", "tenant-b"});
  ASSERT_TRUE(derived.ok());
  ASSERT_TRUE(prepared.ok());
  for (const char* tenant : {"tenant-a", "tenant-b", "tenant-unprepared"}) {
    for (const char* subject : {"subject-0001", "subject-0002", ""}) {
      EXPECT_EQ((*prepared)->SubjectKey(tenant, Customer(subject)),
                (*derived)->SubjectKey(tenant, Customer(subject)))
          << tenant << " " << subject;
      EXPECT_EQ((*prepared)->Scheme1Key(tenant, subject), (*derived)->Scheme1Key(tenant, subject));
    }
  }
  // Calls do not disturb the prepared state.
  EXPECT_EQ((*prepared)->SubjectKey("tenant-a", Customer("subject-0001")),
            (*prepared)->SubjectKey("tenant-a", Customer("subject-0001")));
}

TEST(SubjectKeyerTest, KeysDifferByTenantTypeAndValue) {
  auto keyer = SubjectKeyer::FromKey(kKey, {"tenant-a", "tenant-b"});
  ASSERT_TRUE(keyer.ok());
  const std::string a1 = (*keyer)->SubjectKey("tenant-a", Customer("subject-0001"));
  EXPECT_EQ(a1.size(), 32u);
  EXPECT_NE(a1, (*keyer)->SubjectKey("tenant-b", Customer("subject-0001")));
  EXPECT_NE(a1, (*keyer)->SubjectKey("tenant-a", Customer("subject-0002")));
  // The type is keyed too: the same text as an e-mail or phone is another key.
  const SubjectIdentifier email{IdentifierType::kEmail, "person-0007@example.invalid"};
  const SubjectIdentifier customer{IdentifierType::kCustomerId, "person-0007@example.invalid"};
  const SubjectIdentifier phone_a{IdentifierType::kPhone, "+46700000007"};
  const SubjectIdentifier customer_a{IdentifierType::kCustomerId, "+46700000007"};
  EXPECT_NE((*keyer)->SubjectKey("tenant-a", email), (*keyer)->SubjectKey("tenant-a", customer));
  EXPECT_NE((*keyer)->SubjectKey("tenant-a", phone_a),
            (*keyer)->SubjectKey("tenant-a", customer_a));
  // Neither the scheme-1 key nor the value itself is the typed key.
  EXPECT_NE(a1, (*keyer)->Scheme1Key("tenant-a", "subject-0001"));
  EXPECT_THAT(PseudonymFromKey(a1), ::testing::StartsWith("hmac-sha256:"));
}

TEST(SubjectKeyerTest, TypedKeyIsAFunctionOfTheScheme1Key) {
  auto keyer = SubjectKeyer::FromKey(kKey, {"tenant-a"});
  ASSERT_TRUE(keyer.ok());
  for (const char* tenant : {"tenant-a", "tenant-unprepared"}) {
    const std::string old_key = (*keyer)->Scheme1Key(tenant, "cust-0004");
    EXPECT_EQ((*keyer)->RekeyScheme1(tenant, IdentifierType::kCustomerId, old_key),
              (*keyer)->SubjectKey(tenant, Customer("cust-0004")));
    EXPECT_NE((*keyer)->RekeyScheme1(tenant, IdentifierType::kEmail, old_key),
              (*keyer)->SubjectKey(tenant, Customer("cust-0004")));
  }
}

TEST(SubjectKeyerTest, ShortKeyIsRefused) {
  EXPECT_EQ(SubjectKeyer::FromKey("too-short", {"tenant-a"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace dsar::consent
