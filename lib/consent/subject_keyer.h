// SubjectKeyer: turns a typed, normalised subject identifier into the keyed
// HMAC that dsar stores instead of it. The one function that keys subjects:
// consent events, privacy requests and erasure lookups all use SubjectKey().
//
//   tenant_key  = HMAC-SHA256(master_key, "dsar-subject-v1/" + tenant)
//   inner(v)    = HMAC-SHA256(tenant_key, v)              (the scheme-1 key)
//   SubjectKey  = HMAC-SHA256(tenant_key, "dsar-subject-v2/" + type + "/" +
//                             inner(normalised value))
//
// The key covers the type and the value, so an e-mail and a customer id with
// the same text never collide. It is nested so that it is a pure function of
// the scheme-1 key (what consent stored before typed subjects: inner() of the
// caller's raw subject id): RekeyScheme1() re-keys such a stored key as a
// given type without the clear value (lib/consent/subject_rekey.h). The
// master key comes from a secret file (at least 32 bytes). Per-tenant keys
// keep one tenant's pseudonyms unlinkable to another's. The HMAC state keyed
// for each tenant named at construction is derived once, so SubjectKey() for
// those tenants costs two HMAC updates and finishes (CheckConsent's hot path).
// Thread-safe (immutable after construction).
#ifndef DSAR_LIB_CONSENT_SUBJECT_KEYER_H_
#define DSAR_LIB_CONSENT_SUBJECT_KEYER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/core/subject_identifier.h"

namespace dsar::consent {

class SubjectKeyer {
 public:
  // FAILED_PRECONDITION when the file cannot be read or holds < 32 bytes.
  // `tenants` are prepared up front; others are derived on every call.
  static absl::StatusOr<std::unique_ptr<SubjectKeyer>> FromKeyFile(
      const std::string& path, const std::vector<std::string>& tenants = {});
  // For tests: a key given directly (>= 32 bytes).
  static absl::StatusOr<std::unique_ptr<SubjectKeyer>> FromKey(
      std::string master_key, const std::vector<std::string>& tenants = {});
  ~SubjectKeyer();

  // 32 raw bytes. `id` must be normalised (NormaliseIdentifier).
  std::string SubjectKey(absl::string_view tenant, const SubjectIdentifier& id) const;
  // The SubjectKey of a `type` identifier whose scheme-1 key (HMAC under the
  // tenant key of its value) is `scheme1_key`.
  std::string RekeyScheme1(absl::string_view tenant, IdentifierType type,
                           absl::string_view scheme1_key) const;
  // The scheme-1 key of a raw value: only for tests and the benchmarks that
  // build databases as older versions wrote them.
  std::string Scheme1Key(absl::string_view tenant, absl::string_view value) const;

 private:
  struct TenantState;
  explicit SubjectKeyer(std::string master_key);
  // HMAC-SHA256(tenant_key, message).
  std::string Mac(absl::string_view tenant, absl::string_view message) const;
  std::string master_key_;
  // HMAC state initialised with each prepared tenant's key.
  absl::flat_hash_map<std::string, std::unique_ptr<TenantState>> tenants_;
};

// Printable pseudonym for receipts: "hmac-sha256:" + hex of a subject key.
std::string PseudonymFromKey(absl::string_view key);

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_SUBJECT_KEYER_H_
