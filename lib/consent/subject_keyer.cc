#include "lib/consent/subject_keyer.h"

#include <sodium.h>

#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace dsar::consent {
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

absl::StatusOr<std::unique_ptr<SubjectKeyer>> SubjectKeyer::FromKey(std::string master_key) {
  if (master_key.size() < 32) {
    return absl::FailedPreconditionError("subject key must hold at least 32 bytes");
  }
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  return std::unique_ptr<SubjectKeyer>(new SubjectKeyer(std::move(master_key)));
}

absl::StatusOr<std::unique_ptr<SubjectKeyer>> SubjectKeyer::FromKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot read subject key file"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto keyer = FromKey(buffer.str());
  if (!keyer.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": ", keyer.status().message()));
  }
  return keyer;
}

SubjectKeyer::~SubjectKeyer() { sodium_memzero(master_key_.data(), master_key_.size()); }

std::string SubjectKeyer::Key(absl::string_view tenant, absl::string_view subject_id) const {
  std::string tenant_key = Hmac(master_key_, absl::StrCat("dsar-subject-v1/", tenant));
  std::string key = Hmac(tenant_key, subject_id);
  sodium_memzero(tenant_key.data(), tenant_key.size());
  return key;
}

std::string SubjectKeyer::Pseudonym(absl::string_view tenant, absl::string_view subject_id) const {
  return PseudonymFromKey(Key(tenant, subject_id));
}

std::string PseudonymFromKey(absl::string_view key) {
  return absl::StrCat("hmac-sha256:", absl::BytesToHexString(key));
}

}  // namespace dsar::consent
