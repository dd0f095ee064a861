// Encryption at rest for export bundles: a random key per request, wrapped
// under a master key for storage in the database, and files written and read
// as libsodium secretstreams (XChaCha20-Poly1305) in chunks, so neither side
// ever holds a whole export in memory.
//
// File layout: "DSX1", the 24-byte secretstream header, then frames of
// [4-byte big-endian ciphertext length][ciphertext of at most 64 KiB of
// plaintext]. The last frame carries TAG_FINAL, so a truncated file is
// detected (DATA_LOSS), as is any altered byte. Destroying a bundle means
// destroying its wrapped key (NULL in the database) and deleting the file:
// either alone makes the contents unreadable.
//
// KeyWrapper is immutable and thread-safe; a writer or reader belongs to one
// thread at a time.
#ifndef DSAR_LIB_PRIVACY_REQUESTS_EXPORT_CRYPTO_H_
#define DSAR_LIB_PRIVACY_REQUESTS_EXPORT_CRYPTO_H_

#include <sodium.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dsar::privacy_requests {

inline constexpr size_t kExportChunkBytes = 64 * 1024;

// 32 random bytes, wiped when destroyed.
class SecretKey {
 public:
  static SecretKey Generate();
  // INVALID_ARGUMENT unless `bytes` holds 32 bytes.
  static absl::StatusOr<SecretKey> FromBytes(absl::string_view bytes);
  SecretKey(const SecretKey& other) : bytes_(other.bytes_) {}
  SecretKey& operator=(const SecretKey& other);
  ~SecretKey();
  const unsigned char* data() const {
    return reinterpret_cast<const unsigned char*>(bytes_.data());
  }
  absl::string_view bytes() const { return bytes_; }

 private:
  SecretKey() : bytes_(32, '\0') {}
  std::string bytes_;
};

// Wraps per-request keys for storage: XChaCha20-Poly1305 under
// HMAC-SHA256(secret, "dsar-export-key-wrap-v1"), the request id as
// associated data (a wrapped key cannot be moved to another request).
class KeyWrapper {
 public:
  // FAILED_PRECONDITION unless `secret` holds at least 32 bytes.
  static absl::StatusOr<std::unique_ptr<KeyWrapper>> FromSecret(absl::string_view secret);
  // FAILED_PRECONDITION naming the file when it cannot be read or is short.
  static absl::StatusOr<std::unique_ptr<KeyWrapper>> FromSecretFile(const std::string& path);
  ~KeyWrapper();
  KeyWrapper(const KeyWrapper&) = delete;
  KeyWrapper& operator=(const KeyWrapper&) = delete;

  std::string Wrap(const SecretKey& key, absl::string_view request_id) const;
  // DATA_LOSS when altered or wrapped for another request or master key.
  absl::StatusOr<SecretKey> Unwrap(absl::string_view wrapped, absl::string_view request_id) const;

 private:
  KeyWrapper() = default;
  unsigned char key_[32];
};

// Writes one encrypted file. Destroyed before Finish(): the file is removed.
class EncryptedWriter {
 public:
  // Creates (truncating) `path`. INTERNAL naming the errno when it cannot.
  static absl::StatusOr<std::unique_ptr<EncryptedWriter>> Create(const std::string& path,
                                                                 const SecretKey& key);
  ~EncryptedWriter();
  EncryptedWriter(const EncryptedWriter&) = delete;
  EncryptedWriter& operator=(const EncryptedWriter&) = delete;

  // Buffers `plaintext`, writing full chunks as they fill.
  absl::Status Append(absl::string_view plaintext);
  // Writes the final chunk, fsyncs (when `sync`) and closes.
  absl::Status Finish(bool sync = true);

  int64_t plaintext_bytes() const { return plaintext_bytes_; }
  const std::string& path() const { return path_; }

 private:
  EncryptedWriter() = default;
  absl::Status WriteFrame(bool final);

  std::string path_;
  std::FILE* file_ = nullptr;
  crypto_secretstream_xchacha20poly1305_state state_;
  std::string buffer_;
  std::string cipher_;
  int64_t plaintext_bytes_ = 0;
  bool finished_ = false;
};

// Reads one encrypted file chunk by chunk.
class EncryptedReader {
 public:
  // NOT_FOUND when the file is missing; DATA_LOSS when it is not an export
  // file or belongs to another key.
  static absl::StatusOr<std::unique_ptr<EncryptedReader>> Open(const std::string& path,
                                                               const SecretKey& key);
  ~EncryptedReader();
  EncryptedReader(const EncryptedReader&) = delete;
  EncryptedReader& operator=(const EncryptedReader&) = delete;

  // The next chunk into `*chunk`; false after the final chunk was read.
  // DATA_LOSS for an altered or truncated file.
  absl::StatusOr<bool> Next(std::string* chunk);

 private:
  EncryptedReader() = default;
  std::FILE* file_ = nullptr;
  crypto_secretstream_xchacha20poly1305_state state_;
  std::string cipher_;
  bool done_ = false;
};

// Lower-case hex SHA-256, computed incrementally.
class Sha256 {
 public:
  Sha256();
  void Update(absl::string_view bytes);
  std::string HexDigest();  // finishes; call once

 private:
  crypto_hash_sha256_state state_;
};

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_EXPORT_CRYPTO_H_
