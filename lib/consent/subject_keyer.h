// SubjectKeyer: turns a caller's subject identifier into the keyed HMAC that
// dsar stores instead of it.
//
// Lookup by subject is all consent needs, so the identifier itself is never
// stored: subject_key = HMAC-SHA256(tenant_key, subject_id), where tenant_key =
// HMAC-SHA256(master_key, "dsar-subject-v1/" + tenant). The master key comes
// from a secret file (at least 32 bytes). Per-tenant keys keep one tenant's
// pseudonyms unlinkable to another's. Identifiers are opaque: no case folding
// or trimming is done. The HMAC state keyed for each tenant named at
// construction is derived once, so Key() for those tenants costs one HMAC
// update and finish (CheckConsent's hot path). Thread-safe (immutable after
// construction).
#ifndef DSAR_LIB_CONSENT_SUBJECT_KEYER_H_
#define DSAR_LIB_CONSENT_SUBJECT_KEYER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

  // 32 raw bytes.
  std::string Key(absl::string_view tenant, absl::string_view subject_id) const;
  // Printable pseudonym for receipts: "hmac-sha256:" + hex of Key().
  std::string Pseudonym(absl::string_view tenant, absl::string_view subject_id) const;

 private:
  struct TenantState;
  explicit SubjectKeyer(std::string master_key);
  std::string master_key_;
  // HMAC state initialised with each prepared tenant's key.
  absl::flat_hash_map<std::string, std::unique_ptr<TenantState>> tenants_;
};

std::string PseudonymFromKey(absl::string_view key);

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_SUBJECT_KEYER_H_
