#include "services/sql_connector/keyed_hasher.h"

#include <sodium.h>

#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace dsar::sql_connector {

namespace {

std::string Hmac(absl::string_view key, absl::string_view message) {
  unsigned char out[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                              key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&state, out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

}  // namespace

absl::StatusOr<KeyedHasher> KeyedHasher::Create(std::string secret) {
  if (secret.size() < 32) {
    return absl::InvalidArgumentError("the hash key must hold at least 32 bytes");
  }
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  return KeyedHasher(std::move(secret));
}

absl::StatusOr<KeyedHasher> KeyedHasher::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the hash key file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return Create(buffer.str());
}

std::string KeyedHasher::Hash(absl::string_view tenant, absl::string_view value) const {
  const std::string tenant_key = Hmac(secret_, absl::StrCat("dsar-sql-connector/v1/", tenant));
  return absl::BytesToHexString(Hmac(tenant_key, value));
}

}  // namespace dsar::sql_connector
