// IdempotencyKey: the caller's key that makes one mutation idempotent.
//
// At the API edge it is the `request_id` field of every mutating RPC (and
// the column of that name in idempotency_keys, consent_events and
// audit_events); inside the code it has this type, so "request" means only
// the RPC and, in lib/privacy_requests, the data subject's request. A key is
// scoped to its tenant (store::RunIdempotent; consent: to its tenant and
// subject). Holds no personal data. A value type; thread-compatible.
#ifndef DSAR_LIB_CORE_IDEMPOTENCY_KEY_H_
#define DSAR_LIB_CORE_IDEMPOTENCY_KEY_H_

#include <string>
#include <utility>

namespace dsar {

class IdempotencyKey {
 public:
  IdempotencyKey() = default;  // empty: a read, which needs none
  explicit IdempotencyKey(std::string value) : value_(std::move(value)) {}

  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }

  bool operator==(const IdempotencyKey& other) const { return value_ == other.value_; }
  bool operator!=(const IdempotencyKey& other) const { return value_ != other.value_; }
  template <typename H>
  friend H AbslHashValue(H h, const IdempotencyKey& key) {
    return H::combine(std::move(h), key.value_);
  }

 private:
  std::string value_;
};

}  // namespace dsar

#endif  // DSAR_LIB_CORE_IDEMPOTENCY_KEY_H_
