#include "lib/connector/payload.h"

#include <sodium.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace dsar::connector {
namespace {

constexpr unsigned char kVersion = 1;
constexpr char kKeyContext[] = "dsar-outbox-payload-v1";

const char* TypeName(IdentifierType t) {
  switch (t) {
    case IdentifierType::kEmail:
      return "email";
    case IdentifierType::kCustomerId:
      return "customer_id";
    case IdentifierType::kPhone:
      return "phone";
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<PayloadSealer>> PayloadSealer::FromSecret(absl::string_view secret) {
  if (secret.size() < 32) {
    return absl::FailedPreconditionError("payload key secret must hold at least 32 bytes");
  }
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  std::unique_ptr<PayloadSealer> sealer(new PayloadSealer());
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(kKeyContext),
                                sizeof kKeyContext - 1);
  crypto_auth_hmacsha256_final(&state, sealer->key_);
  sodium_memzero(&state, sizeof state);
  return sealer;
}

absl::StatusOr<std::unique_ptr<PayloadSealer>> PayloadSealer::FromSecretFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat(path, ": cannot read key file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret = buffer.str();
  auto sealer = FromSecret(secret);
  sodium_memzero(secret.data(), secret.size());
  if (!sealer.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": ", sealer.status().message()));
  }
  return sealer;
}

PayloadSealer::~PayloadSealer() { sodium_memzero(key_, sizeof key_); }

std::string PayloadSealer::Seal(const TaskPayload& payload, absl::string_view task_id) const {
  nlohmann::json subject = nlohmann::json::array();
  for (const auto& id : payload.subject) subject.push_back({TypeName(id.type), id.value});
  nlohmann::json obj = {{"s", subject}};
  if (!payload.purpose.empty()) {
    obj["p"] = payload.purpose;
    obj["g"] = payload.consent_given;
    obj["t"] = absl::ToUnixMicros(payload.change_time);
  }
  std::string plain = obj.dump();
  std::string out(1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plain.size() +
                      crypto_aead_xchacha20poly1305_ietf_ABYTES,
                  '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  bytes[0] = kVersion;
  unsigned char* nonce = bytes + 1;
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &written,
      reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
      reinterpret_cast<const unsigned char*>(task_id.data()), task_id.size(), nullptr, nonce, key_);
  sodium_memzero(plain.data(), plain.size());
  out.resize(1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + written);
  return out;
}

absl::StatusOr<TaskPayload> PayloadSealer::Open(absl::string_view sealed,
                                                absl::string_view task_id) const {
  const size_t overhead =
      1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < overhead || static_cast<unsigned char>(sealed[0]) != kVersion) {
    return absl::DataLossError("task payload is missing or malformed");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  const unsigned char* nonce = bytes + 1;
  const unsigned char* cipher = nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  size_t cipher_len = sealed.size() - 1 - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  std::string plain(cipher_len, '\0');
  unsigned long long plain_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &plain_len, nullptr, cipher, cipher_len,
          reinterpret_cast<const unsigned char*>(task_id.data()), task_id.size(), nonce,
          key_) != 0) {
    return absl::DataLossError("task payload does not decrypt (altered, or another key)");
  }
  plain.resize(plain_len);
  auto obj = nlohmann::json::parse(plain, nullptr, /*allow_exceptions=*/false);
  sodium_memzero(plain.data(), plain.size());
  if (obj.is_discarded() || !obj.is_object() || !obj.contains("s") || !obj["s"].is_array()) {
    return absl::DataLossError("task payload is not a valid document");
  }
  TaskPayload out;
  for (const auto& id : obj["s"]) {
    if (!id.is_array() || id.size() != 2 || !id[0].is_string() || !id[1].is_string()) {
      return absl::DataLossError("task payload has a malformed identifier");
    }
    std::string type = id[0].get<std::string>();
    IdentifierType t = type == "email"         ? IdentifierType::kEmail
                       : type == "customer_id" ? IdentifierType::kCustomerId
                                               : IdentifierType::kPhone;
    out.subject.push_back({t, id[1].get<std::string>()});
  }
  if (obj.contains("p") && obj["p"].is_string()) {
    out.purpose = obj["p"].get<std::string>();
    out.consent_given = obj.value("g", false);
    out.change_time = absl::FromUnixMicros(obj.value("t", int64_t{0}));
  }
  return out;
}

}  // namespace dsar::connector
