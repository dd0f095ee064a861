// lib/privacy_requests pieces without a server: the state machine, identifier
// validation and keys, export encryption at rest, record JSON and options.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lib/connector/connector_client.h"
#include "lib/consent/subject_keyer.h"
#include "lib/core/config.h"
#include "lib/core/errors.h"
#include "lib/privacy_requests/bundle.h"
#include "lib/privacy_requests/export_crypto.h"
#include "lib/privacy_requests/export_files.h"
#include "lib/privacy_requests/export_sinks.h"
#include "lib/privacy_requests/identifiers.h"
#include "lib/privacy_requests/options.h"
#include "lib/privacy_requests/request.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace dsar::privacy_requests {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using S = RequestState;

TEST(StateMachineTest, AllowsExactlyTheDocumentedTransitions) {
  const std::vector<S> all = {S::kReceived, S::kVerified,  S::kInProgress, S::kCompleted,
                              S::kRejected, S::kCancelled, S::kFailed};
  std::set<std::pair<S, S>> allowed = {
      {S::kReceived, S::kVerified},    {S::kReceived, S::kRejected},
      {S::kReceived, S::kCancelled},   {S::kVerified, S::kInProgress},
      {S::kVerified, S::kRejected},    {S::kVerified, S::kCancelled},
      {S::kInProgress, S::kCompleted}, {S::kInProgress, S::kFailed},
      {S::kInProgress, S::kCancelled}, {S::kFailed, S::kInProgress},
      {S::kFailed, S::kCancelled}};
  for (S from : all) {
    for (S to : all) {
      EXPECT_EQ(TransitionAllowed(from, to), allowed.count({from, to}) == 1)
          << RequestStateName(from) << " -> " << RequestStateName(to);
    }
  }
  EXPECT_FALSE(IsOpen(S::kCompleted));
  EXPECT_TRUE(IsOpen(S::kFailed));
}

TEST(StateMachineTest, AnIllegalTransitionNamesTheRequestAndWhatItNeeds) {
  absl::Status s =
      CheckTransition("privacyRequests/pr_x", S::kCompleted, S::kVerified, "VerifyIdentity");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  auto v = PreconditionViolationsOf(s);
  ASSERT_THAT(v, ::testing::SizeIs(1));
  EXPECT_EQ(v[0].type, "STATE");
  EXPECT_EQ(v[0].subject, "privacyRequests/pr_x");
  EXPECT_THAT(v[0].description, HasSubstr("RECEIVED"));
  EXPECT_THAT(v[0].description, HasSubstr("COMPLETED"));
}

TEST(RequestNameTest, ParsesOnlyWellFormedNames) {
  EXPECT_THAT(ParseRequestName("privacyRequests/pr_abc2"), IsOk());
  for (const char* bad : {"", "privacyRequests/", "requests/pr_a", "privacyRequests/../x",
                          "privacyRequests/PR", "privacyRequests/a b"}) {
    EXPECT_THAT(ParseRequestName(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

std::vector<std::string> Fields(const FieldErrors& e) {
  std::vector<std::string> out;
  for (const auto& v : e.violations()) out.push_back(v.field);
  return out;
}

TEST(IdentifiersTest, NormalisesAndRejectsMalformedValues) {
  using T = connector::IdentifierType;
  std::vector<SubjectIdentifier> ids = {{T::kEmail, "  Person-0001@Example.INVALID "},
                                        {T::kPhone, "+46700000001"},
                                        {T::kCustomerId, "cust-0001"}};
  FieldErrors errors;
  NormaliseIdentifiers(ids, errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(ids[0].value, "person-0001@example.invalid");

  for (const char* bad : {"no-at-sign", "@example.invalid", "a@b", "a@@b.c", "a b@c.d",
                          "a@.example", "a@example..invalid"}) {
    std::vector<SubjectIdentifier> one = {{T::kEmail, bad}};
    FieldErrors e;
    NormaliseIdentifiers(one, e);
    EXPECT_THAT(Fields(e), ElementsAre("identifiers[0].value")) << bad;
  }
  for (const char* bad : {"0700000001", "+0700000001", "+46 70 000", "+1234"}) {
    std::vector<SubjectIdentifier> one = {{T::kPhone, bad}};
    FieldErrors e;
    NormaliseIdentifiers(one, e);
    EXPECT_THAT(Fields(e), ElementsAre("identifiers[0].value")) << bad;
  }
  std::vector<SubjectIdentifier> none;
  FieldErrors e1;
  NormaliseIdentifiers(none, e1);
  EXPECT_THAT(Fields(e1), ElementsAre("identifiers"));
  std::vector<SubjectIdentifier> twice = {{T::kEmail, "a@b.invalid"}, {T::kEmail, "c@d.invalid"}};
  FieldErrors e2;
  NormaliseIdentifiers(twice, e2);
  EXPECT_THAT(Fields(e2), ElementsAre("identifiers[1].type"));
}

TEST(IdentifiersTest, KeysDependOnTypeValueAndTenantOnly) {
  auto keyer = consent::SubjectKeyer::FromKey("0123456789abcdef0123456789abcdef-unit");
  ASSERT_THAT(keyer, IsOk());
  using T = connector::IdentifierType;
  auto a = SubjectKeys(**keyer, "acme", {{T::kEmail, "x@y.invalid"}});
  auto b = SubjectKeys(**keyer, "acme", {{T::kEmail, "x@y.invalid"}});
  auto other_tenant = SubjectKeys(**keyer, "other", {{T::kEmail, "x@y.invalid"}});
  auto other_type = SubjectKeys(**keyer, "acme", {{T::kCustomerId, "x@y.invalid"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other_tenant);
  EXPECT_NE(a, other_type);
  EXPECT_EQ(a[0].size(), 32u);
}

class ExportCryptoTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) { return dir_.File(name); }
  std::string WriteFile(const SecretKey& key, const std::string& content) {
    auto w = EncryptedWriter::Create(Path("f.enc"), key);
    EXPECT_THAT(w, IsOk());
    for (size_t i = 0; i < content.size(); i += 1000) {
      EXPECT_THAT((*w)->Append(absl::string_view(content).substr(i, 1000)), IsOk());
    }
    EXPECT_THAT((*w)->Finish(), IsOk());
    return Path("f.enc");
  }
  absl::StatusOr<std::string> ReadAll(const std::string& path, const SecretKey& key) {
    auto r = EncryptedReader::Open(path, key);
    if (!r.ok()) return r.status();
    std::string out, chunk;
    for (;;) {
      auto more = (*r)->Next(&chunk);
      if (!more.ok()) return more.status();
      if (!*more) return out;
      EXPECT_LE(chunk.size(), kExportChunkBytes);
      out += chunk;
    }
  }
  std::string Raw(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  ::dsar::testing::TempDir dir_;
};

TEST_F(ExportCryptoTest, RoundTripsInChunksAndHoldsNoPlaintext) {
  const SecretKey key = SecretKey::Generate();
  std::string content;
  for (int i = 0; i < 20000; ++i) content += "person-0007@example.invalid,";
  const std::string path = WriteFile(key, content);
  EXPECT_EQ(Raw(path).find("person-0007"), std::string::npos);
  auto back = ReadAll(path, key);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, content);
  // Another key cannot read it.
  EXPECT_THAT(ReadAll(path, SecretKey::Generate()), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(ExportCryptoTest, AlteredOrTruncatedFilesAreDataLoss) {
  const SecretKey key = SecretKey::Generate();
  std::string content(200000, 'x');
  const std::string path = WriteFile(key, content);
  std::string raw = Raw(path);
  {
    std::string flipped = raw;
    flipped[flipped.size() / 2] ^= 1;
    std::ofstream(Path("flipped.enc"), std::ios::binary) << flipped;
    EXPECT_THAT(ReadAll(Path("flipped.enc"), key), StatusIs(absl::StatusCode::kDataLoss));
  }
  {
    // Cut after the first full frame: no final tag.
    std::ofstream(Path("cut.enc"), std::ios::binary)
        << raw.substr(0, 4 + 24 + 4 + kExportChunkBytes + 17);
    EXPECT_THAT(ReadAll(Path("cut.enc"), key), StatusIs(absl::StatusCode::kDataLoss));
  }
  EXPECT_THAT(ReadAll(Path("missing.enc"), key), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ExportCryptoTest, AnUnfinishedWriterLeavesNoFile) {
  const SecretKey key = SecretKey::Generate();
  {
    auto w = EncryptedWriter::Create(Path("partial.enc"), key);
    ASSERT_THAT(w, IsOk());
    ASSERT_THAT((*w)->Append("half an export"), IsOk());
  }
  EXPECT_FALSE(std::filesystem::exists(Path("partial.enc")));
}

TEST(KeyWrapperTest, WrappedKeysOpenOnlyForTheirRequestAndMaster) {
  auto wrapper = KeyWrapper::FromSecret("master-secret-0123456789abcdef-0123456789");
  auto other = KeyWrapper::FromSecret("another-master-0123456789abcdef-012345678");
  ASSERT_THAT(wrapper, IsOk());
  ASSERT_THAT(other, IsOk());
  const SecretKey key = SecretKey::Generate();
  const std::string wrapped = (*wrapper)->Wrap(key, "pr_a");
  auto back = (*wrapper)->Unwrap(wrapped, "pr_a");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->bytes(), key.bytes());
  EXPECT_THAT((*wrapper)->Unwrap(wrapped, "pr_b"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT((*other)->Unwrap(wrapped, "pr_a"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(KeyWrapper::FromSecret("short"), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(RecordJsonTest, EmbedsJsonObjectsAndQuotesAnythingElse) {
  connector::ExportedRecord r;
  r.record_id = "bookings/42";
  r.category = "booking";
  r.json = R"({"amount_cents":500,"guest_name":"Person 0007"})";
  r.create_time = absl::FromUnixSeconds(1767225600);
  auto parsed = nlohmann::json::parse(RecordJson(r));
  EXPECT_EQ(parsed["record_id"], "bookings/42");
  EXPECT_EQ(parsed["data"]["amount_cents"], 500);
  EXPECT_EQ(parsed["create_time"], "2026-01-01T00:00:00.000000Z");
  r.json = R"({"unterminated": )";
  parsed = nlohmann::json::parse(RecordJson(r));
  EXPECT_EQ(parsed["data"], R"({"unterminated": )");
  r.json = std::string("\xff\xfe not utf-8");
  EXPECT_TRUE(nlohmann::json::accept(RecordJson(r)));
}

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.options.export_dir = dir_.File("exports");
    r_.tenant = "acme-travel";
    r_.id = "pr_bundle";
    r_.type = RequestType::kAccess;
    r_.received_at = absl::FromUnixSeconds(1767225600);
    SystemProgress t;
    t.connector = "booking";
    t.phase = TaskPhase::kExport;
    t.task_id = "task_a";
    t.state = connector::TaskState::kDone;
    tasks_.push_back(t);
    const ExportFiles files(env_.options.export_dir);
    parts_ = files.PartsDir(r_.tenant, r_.id, "task_a");
    std::filesystem::create_directories(parts_);
    auto w = EncryptedWriter::Create(parts_ + "/0.part", key_);
    ASSERT_THAT(w, IsOk());
    ASSERT_THAT((*w)->Append(R"({"record_id":"bookings/1","data":{"a":1}},)"
                             R"({"record_id":"bookings/2","data":{"a":2}})"),
                IsOk());
    ASSERT_THAT((*w)->Finish(false), IsOk());
    std::ofstream(parts_ + "/manifest.json")
        << R"({"categories":[{"category":"booking","file":"0.part","records":2}]})";
  }
  absl::StatusOr<BundleResult> Build(std::string* lost) {
    return AssembleBundle(env_, r_, tasks_, key_, absl::FromUnixSeconds(1767229200), lost);
  }
  ::dsar::testing::TempDir dir_;
  RequestEnv env_;
  PrivacyRequest r_;
  std::vector<SystemProgress> tasks_;
  SecretKey key_ = SecretKey::Generate();
  std::string parts_;
};

TEST_F(BundleTest, GroupsRecordsBySystemAndCategoryAndDigestsThePlaintext) {
  std::string lost;
  auto built = Build(&lost);
  ASSERT_THAT(built, IsOk());
  EXPECT_EQ(built->records, 2);
  EXPECT_EQ(built->systems, 1);
  const ExportFiles files(env_.options.export_dir);
  auto reader = EncryptedReader::Open(files.BundlePath(r_.tenant, r_.id), key_);
  ASSERT_THAT(reader, IsOk());
  std::string all, chunk;
  while (*(*reader)->Next(&chunk)) all += chunk;
  Sha256 sha;
  sha.Update(all);
  EXPECT_EQ(built->sha256_hex, sha.HexDigest());
  EXPECT_EQ(built->size_bytes, static_cast<int64_t>(all.size()));
  auto json = nlohmann::json::parse(all);
  EXPECT_EQ(json["systems"][0]["system"], "booking");
  EXPECT_EQ(json["systems"][0]["categories"][0]["category"], "booking");
  EXPECT_EQ(json["systems"][0]["categories"][0]["records"][1]["data"]["a"], 2);
  EXPECT_EQ(json["record_count"], 2);
  EXPECT_EQ(json["systems"][0]["information"]["retention"],
            "not stated in the register; ask the controller");
}

TEST_F(BundleTest, ALostOrTornPartIsDataLossNamingItsTask) {
  {
    std::string raw;
    {
      std::ifstream in(parts_ + "/0.part", std::ios::binary);
      std::stringstream s;
      s << in.rdbuf();
      raw = s.str();
    }
    std::ofstream(parts_ + "/0.part", std::ios::binary | std::ios::trunc)
        << raw.substr(0, raw.size() - 5);
  }
  std::string lost;
  EXPECT_THAT(Build(&lost), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(lost, "task_a");
  std::filesystem::remove(parts_ + "/manifest.json");
  lost.clear();
  EXPECT_THAT(Build(&lost), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(lost, "task_a");
  // No bundle (not even a partial one) is left behind.
  const ExportFiles files(env_.options.export_dir);
  EXPECT_FALSE(std::filesystem::exists(files.BundlePath(r_.tenant, r_.id)));
  EXPECT_FALSE(std::filesystem::exists(files.BundlePath(r_.tenant, r_.id) + ".tmp"));
}

// A config with no requests section.
absl::StatusOr<config::v1::DsardConfig> MinimalConfig() {
  return ParseDsardConfig(
      "listen_address: \"127.0.0.1:0\" insecure_loopback: true database_path: "
      "\"/tmp/x/dsar.db\"",
      "t");
}

TEST(RequestOptionsTest, DefaultsAndValidation) {
  auto config = MinimalConfig();
  ASSERT_THAT(config, IsOk());
  auto options = RequestOptionsFromConfig(*config);
  ASSERT_THAT(options, IsOk());
  EXPECT_EQ(options->export_ttl, absl::Hours(168));
  EXPECT_EQ(options->export_dir, "/tmp/x/exports");
  EXPECT_FALSE(options->pause_clock_until_verified);
  config->mutable_requests()->set_export_ttl_hours(-1);
  EXPECT_THAT(RequestOptionsFromConfig(*config), StatusIs(absl::StatusCode::kInvalidArgument));
  config->mutable_requests()->set_export_ttl_hours(0);
  config->mutable_requests()->set_callback_secret_file("/nonexistent/secret");
  EXPECT_THAT(RequestOptionsFromConfig(*config), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(RequestOptionsTest, RetentionModeAndCap) {
  auto config = MinimalConfig();
  ASSERT_THAT(config, IsOk());
  auto options = RequestOptionsFromConfig(*config);
  ASSERT_THAT(options, IsOk());
  EXPECT_FALSE(options->retention_review);  // automatic
  EXPECT_EQ(options->retention_max_erasures_per_scan, 1000);
  config->mutable_requests()->set_retention_mode("review");
  config->mutable_requests()->set_retention_max_erasures_per_scan(50);
  options = RequestOptionsFromConfig(*config);
  ASSERT_THAT(options, IsOk());
  EXPECT_TRUE(options->retention_review);
  EXPECT_EQ(options->retention_max_erasures_per_scan, 50);
  config->mutable_requests()->set_retention_mode("sometimes");
  EXPECT_THAT(RequestOptionsFromConfig(*config), StatusIs(absl::StatusCode::kInvalidArgument));
  config->mutable_requests()->set_retention_mode("automatic");
  config->mutable_requests()->set_retention_max_erasures_per_scan(-1);
  EXPECT_THAT(RequestOptionsFromConfig(*config), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace dsar::privacy_requests
