#include "lib/privacy_requests/export_crypto.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace dsar::privacy_requests {
namespace {

constexpr char kMagic[4] = {'D', 'S', 'X', '1'};
constexpr absl::string_view kWrapLabel = "dsar-export-key-wrap-v1";
// Largest frame a reader accepts: a full chunk plus the tag overhead.
constexpr size_t kMaxFrame = kExportChunkBytes + crypto_secretstream_xchacha20poly1305_ABYTES;

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // no entropy source: nothing safe to do
}

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

SecretKey SecretKey::Generate() {
  InitSodium();
  SecretKey k;
  crypto_secretstream_xchacha20poly1305_keygen(reinterpret_cast<unsigned char*>(k.bytes_.data()));
  return k;
}

absl::StatusOr<SecretKey> SecretKey::FromBytes(absl::string_view bytes) {
  if (bytes.size() != 32) return absl::InvalidArgumentError("a key has 32 bytes");
  SecretKey k;
  k.bytes_.assign(bytes.data(), bytes.size());
  return k;
}

SecretKey& SecretKey::operator=(const SecretKey& other) {
  if (this != &other) {
    sodium_memzero(bytes_.data(), bytes_.size());
    bytes_ = other.bytes_;
  }
  return *this;
}

SecretKey::~SecretKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

absl::StatusOr<std::unique_ptr<KeyWrapper>> KeyWrapper::FromSecret(absl::string_view secret) {
  if (secret.size() < 32) {
    return absl::FailedPreconditionError("export key secret must hold at least 32 bytes");
  }
  InitSodium();
  std::unique_ptr<KeyWrapper> w(new KeyWrapper());
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(kWrapLabel.data()),
                                kWrapLabel.size());
  crypto_auth_hmacsha256_final(&state, w->key_);
  return w;
}

absl::StatusOr<std::unique_ptr<KeyWrapper>> KeyWrapper::FromSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat(path, ": cannot read key file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret = buffer.str();
  auto w = FromSecret(secret);
  sodium_memzero(secret.data(), secret.size());
  if (!w.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": ", w.status().message()));
  }
  return w;
}

KeyWrapper::~KeyWrapper() { sodium_memzero(key_, sizeof key_); }

std::string KeyWrapper::Wrap(const SecretKey& key, absl::string_view request_id) const {
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  std::string out(kNonce + key.bytes().size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, kNonce);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + kNonce, &len, key.data(), key.bytes().size(),
      reinterpret_cast<const unsigned char*>(request_id.data()), request_id.size(), nullptr, nonce,
      key_);
  out.resize(kNonce + len);
  return out;
}

absl::StatusOr<SecretKey> KeyWrapper::Unwrap(absl::string_view wrapped,
                                             absl::string_view request_id) const {
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kExpected = kNonce + 32 + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (wrapped.size() != kExpected) return absl::DataLossError("wrapped export key is malformed");
  std::string plain(32, '\0');
  unsigned long long len = 0;
  const auto* nonce = reinterpret_cast<const unsigned char*>(wrapped.data());
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      reinterpret_cast<unsigned char*>(plain.data()), &len, nullptr, nonce + kNonce,
      wrapped.size() - kNonce, reinterpret_cast<const unsigned char*>(request_id.data()),
      request_id.size(), nonce, key_);
  if (rc != 0 || len != 32) {
    sodium_memzero(plain.data(), plain.size());
    return absl::DataLossError("export key does not open under this master key and request");
  }
  auto key = SecretKey::FromBytes(plain);
  sodium_memzero(plain.data(), plain.size());
  return key;
}

absl::StatusOr<std::unique_ptr<EncryptedWriter>> EncryptedWriter::Create(const std::string& path,
                                                                         const SecretKey& key) {
  InitSodium();
  std::unique_ptr<EncryptedWriter> w(new EncryptedWriter());
  w->path_ = path;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create", path);
  w->file_ = ::fdopen(fd, "wb");
  if (w->file_ == nullptr) {
    ::close(fd);
    return ErrnoStatus("cannot open", path);
  }
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&w->state_, header, key.data());
  if (std::fwrite(kMagic, 1, sizeof kMagic, w->file_) != sizeof kMagic ||
      std::fwrite(header, 1, sizeof header, w->file_) != sizeof header) {
    return ErrnoStatus("cannot write", path);
  }
  w->buffer_.reserve(kExportChunkBytes);
  return w;
}

EncryptedWriter::~EncryptedWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!finished_ && !path_.empty()) ::unlink(path_.c_str());
  sodium_memzero(&state_, sizeof state_);
  if (!buffer_.empty()) sodium_memzero(buffer_.data(), buffer_.size());
}

absl::Status EncryptedWriter::WriteFrame(bool final) {
  cipher_.resize(buffer_.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
  unsigned long long len = 0;
  crypto_secretstream_xchacha20poly1305_push(
      &state_, reinterpret_cast<unsigned char*>(cipher_.data()), &len,
      reinterpret_cast<const unsigned char*>(buffer_.data()), buffer_.size(), nullptr, 0,
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
  const uint32_t n = static_cast<uint32_t>(len);
  const unsigned char prefix[4] = {
      static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
      static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  sodium_memzero(buffer_.data(), buffer_.size());
  buffer_.clear();
  if (std::fwrite(prefix, 1, 4, file_) != 4 || std::fwrite(cipher_.data(), 1, len, file_) != len) {
    return ErrnoStatus("cannot write", path_);
  }
  return absl::OkStatus();
}

absl::Status EncryptedWriter::Append(absl::string_view plaintext) {
  if (file_ == nullptr || finished_) return absl::FailedPreconditionError("writer is closed");
  plaintext_bytes_ += static_cast<int64_t>(plaintext.size());
  while (!plaintext.empty()) {
    const size_t room = kExportChunkBytes - buffer_.size();
    const size_t take = std::min(room, plaintext.size());
    buffer_.append(plaintext.data(), take);
    plaintext.remove_prefix(take);
    if (buffer_.size() == kExportChunkBytes) {
      if (absl::Status s = WriteFrame(/*final=*/false); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status EncryptedWriter::Finish(bool sync) {
  if (file_ == nullptr || finished_) return absl::FailedPreconditionError("writer is closed");
  if (absl::Status s = WriteFrame(/*final=*/true); !s.ok()) return s;
  if (std::fflush(file_) != 0) return ErrnoStatus("cannot flush", path_);
  if (sync && ::fsync(::fileno(file_)) != 0) return ErrnoStatus("cannot fsync", path_);
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) return ErrnoStatus("cannot close", path_);
  finished_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<EncryptedReader>> EncryptedReader::Open(const std::string& path,
                                                                       const SecretKey& key) {
  InitSodium();
  std::unique_ptr<EncryptedReader> r(new EncryptedReader());
  r->file_ = std::fopen(path.c_str(), "rbe");
  if (r->file_ == nullptr) {
    if (errno == ENOENT) return absl::NotFoundError("export file is gone");
    return ErrnoStatus("cannot open", path);
  }
  char magic[4];
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  if (std::fread(magic, 1, 4, r->file_) != 4 || std::memcmp(magic, kMagic, 4) != 0 ||
      std::fread(header, 1, sizeof header, r->file_) != sizeof header ||
      crypto_secretstream_xchacha20poly1305_init_pull(&r->state_, header, key.data()) != 0) {
    return absl::DataLossError("not an export file, or truncated");
  }
  return r;
}

EncryptedReader::~EncryptedReader() {
  if (file_ != nullptr) std::fclose(file_);
  sodium_memzero(&state_, sizeof state_);
}

absl::StatusOr<bool> EncryptedReader::Next(std::string* chunk) {
  chunk->clear();
  if (done_) return false;
  unsigned char prefix[4];
  if (std::fread(prefix, 1, 4, file_) != 4) {
    return absl::DataLossError("export file is truncated (no final chunk)");
  }
  const size_t n = (size_t{prefix[0]} << 24) | (size_t{prefix[1]} << 16) |
                   (size_t{prefix[2]} << 8) | size_t{prefix[3]};
  if (n < crypto_secretstream_xchacha20poly1305_ABYTES || n > kMaxFrame) {
    return absl::DataLossError("export file has a malformed frame");
  }
  cipher_.resize(n);
  if (std::fread(cipher_.data(), 1, n, file_) != n) {
    return absl::DataLossError("export file is truncated");
  }
  chunk->resize(n - crypto_secretstream_xchacha20poly1305_ABYTES);
  unsigned long long len = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(
          &state_, reinterpret_cast<unsigned char*>(chunk->data()), &len, &tag,
          reinterpret_cast<const unsigned char*>(cipher_.data()), n, nullptr, 0) != 0) {
    chunk->clear();
    return absl::DataLossError("export file was altered or belongs to another key");
  }
  chunk->resize(len);
  if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
    done_ = true;
    // Bytes after the final frame mean the file was tampered with.
    if (std::fgetc(file_) != EOF) return absl::DataLossError("export file has trailing bytes");
  }
  return true;
}

Sha256::Sha256() {
  InitSodium();
  crypto_hash_sha256_init(&state_);
}

void Sha256::Update(absl::string_view bytes) {
  crypto_hash_sha256_update(&state_, reinterpret_cast<const unsigned char*>(bytes.data()),
                            bytes.size());
}

std::string Sha256::HexDigest() {
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state_, out);
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, out, sizeof out);
  return std::string(hex);
}

}  // namespace dsar::privacy_requests
