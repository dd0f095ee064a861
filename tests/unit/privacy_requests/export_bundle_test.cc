// Export bundles: the encrypted file format (export_crypto.h) at its chunk
// boundaries and under tampering, the SHA-256 digest, key wrapping, and a
// bundle's life through the module on a real store with the fake clock
// (built by the worker, downloaded against its recorded digest, expired).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lib/privacy_requests/export_crypto.h"
#include "lib/privacy_requests/export_files.h"
#include "lib/privacy_requests/request_rows.h"
#include "tests/unit/privacy_requests/requests_fixture.h"

namespace dsar::privacy_requests {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Writes `plaintext` in one Append and returns the file's path.
std::string Encrypt(const std::string& path, const SecretKey& key, const std::string& plaintext) {
  auto w = EncryptedWriter::Create(path, key);
  EXPECT_THAT(w, IsOk());
  if (!w.ok()) return path;
  EXPECT_THAT((*w)->Append(plaintext), IsOk());
  EXPECT_EQ((*w)->plaintext_bytes(), static_cast<int64_t>(plaintext.size()));
  EXPECT_THAT((*w)->Finish(false), IsOk());
  return path;
}

// Every chunk of the file, or the first error.
absl::StatusOr<std::vector<std::string>> Decrypt(const std::string& path, const SecretKey& key) {
  auto r = EncryptedReader::Open(path, key);
  if (!r.ok()) return r.status();
  std::vector<std::string> chunks;
  std::string chunk;
  for (;;) {
    auto more = (*r)->Next(&chunk);
    if (!more.ok()) return more.status();
    if (!*more) return chunks;
    chunks.push_back(chunk);
  }
}

std::string Joined(const std::vector<std::string>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += c;
  return out;
}

class ExportFileFormatTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) { return dir_.File(name); }
  ::dsar::testing::TempDir dir_;
  SecretKey key_ = SecretKey::Generate();
};

TEST_F(ExportFileFormatTest, AnEmptyPlaintextRoundTripsToNoChunks) {
  auto chunks = Decrypt(Encrypt(Path("empty"), key_, ""), key_);
  ASSERT_THAT(chunks, IsOk());
  EXPECT_EQ(Joined(*chunks), "");
}

TEST_F(ExportFileFormatTest, PlaintextsAroundTheChunkSizeRoundTripInChunksOfAtMost64KiB) {
  for (size_t size : {size_t{1}, kExportChunkBytes - 1, kExportChunkBytes, kExportChunkBytes + 1,
                      3 * kExportChunkBytes + 7}) {
    std::string plain(size, '\0');
    for (size_t i = 0; i < size; ++i) plain[i] = static_cast<char>('a' + i % 26);
    const std::string path = Encrypt(Path("f" + std::to_string(size)), key_, plain);
    auto chunks = Decrypt(path, key_);
    ASSERT_THAT(chunks, IsOk()) << size;
    EXPECT_EQ(Joined(*chunks), plain) << size;
    for (const auto& c : *chunks) EXPECT_LE(c.size(), kExportChunkBytes) << size;
    EXPECT_GE(chunks->size(), (size + kExportChunkBytes - 1) / kExportChunkBytes) << size;
    // Magic, header and frames: never the plaintext itself.
    const std::string raw = ReadAll(path);
    EXPECT_EQ(raw.substr(0, 4), "DSX1");
    if (size >= 32) {  // a shorter plaintext may occur in random ciphertext by chance
      EXPECT_EQ(raw.find(plain.substr(0, 32)), std::string::npos) << size;
    }
  }
}

TEST_F(ExportFileFormatTest, ManySmallAppendsReadBackAsOneDocument) {
  auto w = EncryptedWriter::Create(Path("appends"), key_);
  ASSERT_THAT(w, IsOk());
  std::string plain;
  for (int i = 0; i < 5000; ++i) {
    const std::string piece = "{\"record\":" + std::to_string(i) + "},";
    plain += piece;
    ASSERT_THAT((*w)->Append(piece), IsOk());
  }
  ASSERT_THAT((*w)->Finish(false), IsOk());
  auto chunks = Decrypt(Path("appends"), key_);
  ASSERT_THAT(chunks, IsOk());
  EXPECT_EQ(Joined(*chunks), plain);
}

TEST_F(ExportFileFormatTest, EveryAlteredByteIsDataLoss) {
  const std::string path = Encrypt(Path("bundle"), key_, std::string(kExportChunkBytes + 100, 'x'));
  const std::string raw = ReadAll(path);
  // The magic, the header, a frame length, a first-frame byte, the last byte.
  for (size_t at :
       {size_t{0}, size_t{10}, size_t{4 + 24 + 1}, size_t{4 + 24 + 4 + 17}, raw.size() - 1}) {
    std::string altered = raw;
    altered[at] = static_cast<char>(altered[at] ^ 0x01);
    WriteAll(path, altered);
    EXPECT_THAT(Decrypt(path, key_), StatusIs(absl::StatusCode::kDataLoss)) << "byte " << at;
  }
}

TEST_F(ExportFileFormatTest, AFileCutAtAFrameBoundaryIsDataLossBecauseTheFinalTagIsMissing) {
  const std::string path =
      Encrypt(Path("bundle"), key_, std::string(2 * kExportChunkBytes + 10, 'y'));
  const std::string raw = ReadAll(path);
  // The first frame ends after its 4-byte length and the 64 KiB ciphertext
  // plus the stream's 17 bytes of overhead.
  const size_t first_frame_end = 4 + crypto_secretstream_xchacha20poly1305_HEADERBYTES + 4 +
                                 kExportChunkBytes + crypto_secretstream_xchacha20poly1305_ABYTES;
  ASSERT_LT(first_frame_end, raw.size());
  WriteAll(path, raw.substr(0, first_frame_end));
  EXPECT_THAT(Decrypt(path, key_), StatusIs(absl::StatusCode::kDataLoss));
  WriteAll(path, raw.substr(0, 4 + crypto_secretstream_xchacha20poly1305_HEADERBYTES));
  EXPECT_THAT(Decrypt(path, key_), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(ExportFileFormatTest, BytesAfterTheFinalFrameAreDataLoss) {
  const std::string path = Encrypt(Path("bundle"), key_, "a small document");
  WriteAll(path, ReadAll(path) + "trailing");
  EXPECT_THAT(Decrypt(path, key_), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(ExportFileFormatTest, AnotherKeyOrAnotherFormatIsDataLossAndAMissingFileNotFound) {
  const std::string path = Encrypt(Path("bundle"), key_, "a small document");
  EXPECT_THAT(Decrypt(path, SecretKey::Generate()), StatusIs(absl::StatusCode::kDataLoss));
  WriteAll(Path("plain"), "{\"format\": \"dsar-export/1\"}");
  EXPECT_THAT(EncryptedReader::Open(Path("plain"), key_), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(EncryptedReader::Open(Path("missing"), key_), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ExportFileFormatTest, AWriterCannotCreateAFileInAMissingDirectory) {
  EXPECT_THAT(EncryptedWriter::Create(Path("no/such/dir/bundle"), key_),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(ExportDigestTest, Sha256MatchesTheStandardVectorsWhateverTheSplit) {
  Sha256 empty;
  EXPECT_EQ(empty.HexDigest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;
  abc.Update("a");
  abc.Update("");
  abc.Update("bc");
  EXPECT_EQ(abc.HexDigest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ExportKeysTest, ASecretKeyHasExactly32Bytes) {
  EXPECT_THAT(SecretKey::FromBytes(std::string(32, 'k')), IsOk());
  EXPECT_THAT(SecretKey::FromBytes(std::string(31, 'k')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SecretKey::FromBytes(std::string(33, 'k')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(SecretKey::Generate().bytes(), SecretKey::Generate().bytes());
}

TEST(ExportKeysTest, AMasterSecretShorterThan32BytesOrUnreadableIsFailedPrecondition) {
  EXPECT_THAT(KeyWrapper::FromSecret(std::string(31, 'm')),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(KeyWrapper::FromSecretFile("/nonexistent/dsar/export.key"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ExportKeysTest, AWrappedKeyOpensOnlyUnaltered) {
  auto wrapper = KeyWrapper::FromSecret(std::string(32, 'm'));
  ASSERT_THAT(wrapper, IsOk());
  const SecretKey key = SecretKey::Generate();
  std::string wrapped = (*wrapper)->Wrap(key, "pr_1");
  EXPECT_EQ(wrapped.find(std::string(key.bytes())), std::string::npos);
  auto opened = (*wrapper)->Unwrap(wrapped, "pr_1");
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->bytes(), key.bytes());
  wrapped.back() = static_cast<char>(wrapped.back() ^ 0x01);
  EXPECT_THAT((*wrapper)->Unwrap(wrapped, "pr_1"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT((*wrapper)->Unwrap("", "pr_1"), StatusIs(absl::StatusCode::kDataLoss));
}

// A bundle's life through the module: no connectors, so an access request's
// bundle holds no system and the worker builds it at its first pass.
class ExportBundleLifeTest : public testing::RequestsTest {
 protected:
  // A COMPLETED access request with its bundle.
  std::string CompletedAccess() {
    auto created = File(RequestType::kAccess, 1, /*verified=*/true);
    EXPECT_THAT(created, IsOk());
    if (!created.ok()) return "";
    worker_->RunOnce();
    auto r = Get(created->request.id);
    EXPECT_THAT(r, IsOk());
    if (r.ok()) EXPECT_EQ(r->state, RequestState::kCompleted);
    return created->request.id;
  }

  std::string BundlePath(const std::string& id) {
    return ExportFiles(env_.options.export_dir).BundlePath(testing::kTenant, id);
  }

  // The request's export key, unwrapped as dsard does.
  SecretKey KeyOf(const std::string& id) {
    std::optional<std::string> wrapped;
    EXPECT_THAT(store_->Read([&](store::ReadTxn& txn) {
      wrapped = rows::LoadWrappedKey(txn, testing::kTenant, id);
      return absl::OkStatus();
    }),
                IsOk());
    EXPECT_TRUE(wrapped.has_value());
    auto key = wrapper_->Unwrap(wrapped.value_or(""), id);
    EXPECT_THAT(key, IsOk());
    return key.ok() ? *key : SecretKey::Generate();
  }

  absl::StatusOr<std::string> DownloadAll(const std::string& id) {
    auto d = Download(id);
    if (!d.ok()) return d.status();
    std::string all, chunk;
    for (;;) {
      auto more = (*d)->Next(&chunk);
      if (!more.ok()) return more.status();
      if (!*more) return all;
      all += chunk;
    }
  }
};

TEST_F(ExportBundleLifeTest, TheWorkerBuildsABundleWhoseRecordedDigestMatchesItsPlaintext) {
  const std::string id = CompletedAccess();
  auto r = Get(id);
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->export_info.has_value());
  const ExportInfo& info = *r->export_info;
  EXPECT_TRUE(info.available);
  EXPECT_EQ(info.created_at, clock_.Now());
  EXPECT_EQ(info.expires_at, clock_.Now() + absl::Hours(168));
  EXPECT_EQ(info.records, 0);
  auto chunks = Decrypt(BundlePath(id), KeyOf(id));
  ASSERT_THAT(chunks, IsOk());
  const std::string plain = Joined(*chunks);
  EXPECT_EQ(static_cast<int64_t>(plain.size()), info.size_bytes);
  Sha256 sha;
  sha.Update(plain);
  EXPECT_EQ(sha.HexDigest(), info.sha256_hex);
  auto json = nlohmann::json::parse(plain);
  EXPECT_EQ(json["format"], "dsar-export/1");
  EXPECT_EQ(json["record_count"], 0);
  EXPECT_TRUE(json["systems"].empty());
}

TEST_F(ExportBundleLifeTest, ADownloadStreamsExactlyTheBundleAndIsRecordedAsADisclosure) {
  const std::string id = CompletedAccess();
  auto all = DownloadAll(id);
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(nlohmann::json::parse(*all)["format"], "dsar-export/1");
  auto r = Get(id);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->disclosures.size(), 1u);
  EXPECT_EQ(r->export_info->downloads, 1);
}

TEST_F(ExportBundleLifeTest, ABundleReplacedByAnotherUnderTheSameKeyFailsTheDigestCheck) {
  const std::string id = CompletedAccess();
  // Valid ciphertext under the right key, but not the document recorded.
  Encrypt(BundlePath(id), KeyOf(id), "{\"format\":\"dsar-export/1\",\"systems\":[]}");
  auto all = DownloadAll(id);
  ASSERT_THAT(all, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(all.status().message(), HasSubstr("digest"));
}

TEST_F(ExportBundleLifeTest, AnAlteredBundleFileIsDataLossOnDownload) {
  const std::string id = CompletedAccess();
  std::string raw = ReadAll(BundlePath(id));
  raw[raw.size() / 2] = static_cast<char>(raw[raw.size() / 2] ^ 0x40);
  WriteAll(BundlePath(id), raw);
  EXPECT_THAT(DownloadAll(id), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(ExportBundleLifeTest, AMissingBundleFileIsDataLossNotAnEmptyExport) {
  const std::string id = CompletedAccess();
  std::filesystem::remove(BundlePath(id));
  EXPECT_THAT(Download(id), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(ExportBundleLifeTest, ABundleCanBeDownloadedUntilItsExpiryAndIsDestroyedFromThen) {
  const std::string id = CompletedAccess();
  clock_.Advance(absl::Hours(168) - absl::Seconds(1));
  EXPECT_THAT(DownloadAll(id), IsOk());
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(Download(id), StatusIs(absl::StatusCode::kNotFound));
  auto r = Get(id);
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->export_info.has_value());
  EXPECT_FALSE(r->export_info->available);
  EXPECT_FALSE(std::filesystem::exists(BundlePath(id)));
  std::optional<std::string> wrapped = "not read";
  ASSERT_THAT(store_->Read([&](store::ReadTxn& txn) {
    wrapped = rows::LoadWrappedKey(txn, testing::kTenant, id);
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_FALSE(wrapped.has_value()) << "the wrapped key must be destroyed";
  EXPECT_THAT(Download(id), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ExportBundleLifeTest, TheWorkerExpiresADueBundleWithoutADownload) {
  const std::string id = CompletedAccess();
  ASSERT_TRUE(std::filesystem::exists(BundlePath(id)));
  clock_.Advance(absl::Hours(168));
  worker_->RunOnce();
  auto r = Get(id);
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->export_info->available);
  EXPECT_FALSE(std::filesystem::exists(BundlePath(id)));
}

TEST_F(ExportBundleLifeTest, OnlyACompletedAccessRequestHasABundleToDownload) {
  auto received = File(RequestType::kAccess, 2);
  ASSERT_THAT(received, IsOk());
  auto early = Download(received->request.id);
  ASSERT_THAT(early, StatusIs(absl::StatusCode::kFailedPrecondition));
  auto erasure = File(RequestType::kErasure, 3);
  ASSERT_THAT(erasure, IsOk());
  EXPECT_THAT(Download(erasure->request.id), StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace dsar::privacy_requests
