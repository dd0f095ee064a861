#include "lib/consent/subject_keyer.h"

#include <sodium.h>

#include <cstring>
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

struct SubjectKeyer::TenantState {
  crypto_auth_hmacsha256_state hmac;
};

SubjectKeyer::SubjectKeyer(std::string master_key) : master_key_(std::move(master_key)) {}

absl::StatusOr<std::unique_ptr<SubjectKeyer>> SubjectKeyer::FromKey(
    std::string master_key, const std::vector<std::string>& tenants) {
  if (master_key.size() < 32) {
    return absl::FailedPreconditionError("subject key must hold at least 32 bytes");
  }
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  std::unique_ptr<SubjectKeyer> keyer(new SubjectKeyer(std::move(master_key)));
  for (const std::string& tenant : tenants) {
    std::string tenant_key = Hmac(keyer->master_key_, absl::StrCat("dsar-subject-v1/", tenant));
    auto state = std::make_unique<TenantState>();
    crypto_auth_hmacsha256_init(
        &state->hmac, reinterpret_cast<const unsigned char*>(tenant_key.data()), tenant_key.size());
    sodium_memzero(tenant_key.data(), tenant_key.size());
    keyer->tenants_[tenant] = std::move(state);
  }
  return keyer;
}

absl::StatusOr<std::unique_ptr<SubjectKeyer>> SubjectKeyer::FromKeyFile(
    const std::string& path, const std::vector<std::string>& tenants) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot read subject key file"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto keyer = FromKey(buffer.str(), tenants);
  if (!keyer.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": ", keyer.status().message()));
  }
  return keyer;
}

SubjectKeyer::~SubjectKeyer() {
  sodium_memzero(master_key_.data(), master_key_.size());
  for (auto& [tenant, state] : tenants_) sodium_memzero(&state->hmac, sizeof state->hmac);
}

std::string SubjectKeyer::Mac(absl::string_view tenant, absl::string_view message) const {
  if (auto it = tenants_.find(tenant); it != tenants_.end()) {
    crypto_auth_hmacsha256_state state = it->second->hmac;  // keyed, nothing absorbed yet
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size());
    unsigned char out[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(&state, out);
    sodium_memzero(&state, sizeof state);
    return std::string(reinterpret_cast<const char*>(out), sizeof out);
  }
  std::string tenant_key = Hmac(master_key_, absl::StrCat("dsar-subject-v1/", tenant));
  std::string key = Hmac(tenant_key, message);
  sodium_memzero(tenant_key.data(), tenant_key.size());
  return key;
}

std::string SubjectKeyer::SubjectKey(absl::string_view tenant, const SubjectIdentifier& id) const {
  std::string inner = Mac(tenant, id.value);
  std::string key = RekeyScheme1(tenant, id.type, inner);
  sodium_memzero(inner.data(), inner.size());
  return key;
}

std::string SubjectKeyer::RekeyScheme1(absl::string_view tenant, IdentifierType type,
                                       absl::string_view scheme1_key) const {
  // At most "dsar-subject-v2/customer_id/" + 32 bytes = 60: no allocation.
  char message[64];
  size_t n = 0;
  auto put = [&](absl::string_view part) {
    part = part.substr(0, sizeof message - n);
    std::memcpy(message + n, part.data(), part.size());
    n += part.size();
  };
  put("dsar-subject-v2/");
  put(IdentifierTypeName(type));
  put("/");
  put(scheme1_key);
  std::string key = Mac(tenant, absl::string_view(message, n));
  sodium_memzero(message, sizeof message);
  return key;
}

std::string SubjectKeyer::Scheme1Key(absl::string_view tenant, absl::string_view value) const {
  return Mac(tenant, value);
}

std::string PseudonymFromKey(absl::string_view key) {
  return absl::StrCat("hmac-sha256:", absl::BytesToHexString(key));
}

}  // namespace dsar::consent
