// Idempotent mutations: (tenant, idempotency key) -> the first response.
//
// Every mutating RPC carries the caller's IdempotencyKey (the API's
// request_id). RunIdempotent, called inside the call's write transaction,
// returns the stored response when the same tenant already used that key for
// the same method and content, and
// otherwise runs the mutation and stores its response in the same transaction,
// so the change and its answer commit (or roll back) together, and a retry after
// a crash or restart sees exactly one effect. Only successful responses are
// stored: a failed mutation changed nothing, so a retry re-evaluates it.
#ifndef DSAR_LIB_STORE_IDEMPOTENCY_H_
#define DSAR_LIB_STORE_IDEMPOTENCY_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/core/idempotency_key.h"
#include "lib/store/txn.h"

namespace dsar::store {

// Checks that a key is present and well formed (1-128 printable ASCII
// characters). INVALID_ARGUMENT naming the API field "request_id" otherwise.
absl::Status ValidateIdempotencyKey(const IdempotencyKey& key);

// Runs `mutate` once per (tenant, key): a call of `method` whose content is
// `fingerprint` (e.g. a hash of its serialized fields). Errors:
// INVALID_ARGUMENT (field "request_id") when the key is malformed or was
// already used by this tenant for another method or different content;
// whatever `mutate` returns.
absl::StatusOr<std::string> RunIdempotent(
    WriteTxn& txn, absl::string_view tenant, const IdempotencyKey& key, absl::string_view method,
    absl::string_view fingerprint, absl::Time now,
    absl::FunctionRef<absl::StatusOr<std::string>(WriteTxn&)> mutate);

// The same, split for writers that handle many calls in one write: look each
// key up, then store the new ones together.
struct StoredAnswer {
  std::string method;
  std::string fingerprint;
  std::string response;
};
std::optional<StoredAnswer> FindAnswer(WriteTxn& txn, absl::string_view tenant,
                                       const IdempotencyKey& key);
// OK when the stored answer was for this same call (method and fingerprint);
// INVALID_ARGUMENT naming "request_id" otherwise.
absl::Status CheckSameCall(absl::string_view stored_method, absl::string_view stored_fingerprint,
                           absl::string_view method, absl::string_view fingerprint);
struct NewAnswer {
  std::string tenant;
  IdempotencyKey key;
  std::string method;
  std::string fingerprint;
  std::string response;
};
// Stores the answers of requests whose keys FindAnswer did not find (and
// that are distinct), with multi-row inserts.
void StoreAnswers(WriteTxn& txn, const std::vector<NewAnswer>& answers, absl::Time now);

// SHA-256 of `bytes`, as raw bytes; a convenient fingerprint.
std::string Fingerprint(absl::string_view bytes);

// Fingerprint of a request's fields: each part length-prefixed, so ("ab", "c")
// and ("a", "bc") differ.
std::string FingerprintOf(std::initializer_list<absl::string_view> parts);

}  // namespace dsar::store

#endif  // DSAR_LIB_STORE_IDEMPOTENCY_H_
