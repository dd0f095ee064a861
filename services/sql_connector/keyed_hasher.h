// KeyedHasher: the replacement value of COLUMN_ERASURE_KEYED_HASH, an
// HMAC-SHA-256 of the value under a key derived per tenant from the
// connector's secret, in lower-case hex.
//
// Why keyed and per tenant: an unkeyed hash of an e-mail address is found
// again by hashing a guess; with a key nobody outside the connector can, and
// two tenants' hashes of one address differ. Rows of one person still group
// together for statistics. Thread-safe (immutable).
#ifndef DSAR_SERVICES_SQL_CONNECTOR_KEYED_HASHER_H_
#define DSAR_SERVICES_SQL_CONNECTOR_KEYED_HASHER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dsar::sql_connector {

class KeyedHasher {
 public:
  // `secret` must hold at least 32 bytes (INVALID_ARGUMENT otherwise).
  static absl::StatusOr<KeyedHasher> Create(std::string secret);
  // Reads the secret from a file (NOT_FOUND when unreadable).
  static absl::StatusOr<KeyedHasher> FromFile(const std::string& path);

  // 64 hex digits.
  std::string Hash(absl::string_view tenant, absl::string_view value) const;

 private:
  explicit KeyedHasher(std::string secret) : secret_(std::move(secret)) {}
  std::string secret_;
};

}  // namespace dsar::sql_connector

#endif  // DSAR_SERVICES_SQL_CONNECTOR_KEYED_HASHER_H_
