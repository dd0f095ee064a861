#include "lib/store/idempotency.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/VariadicBind.h>
#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "lib/core/errors.h"
#include "lib/store/multi_row.h"

namespace dsar::store {

absl::Status ValidateIdempotencyKey(const IdempotencyKey& key) {
  const std::string& request_id = key.value();
  if (request_id.empty()) return InvalidField("request_id", "required for every mutating call");
  if (request_id.size() > 128) return InvalidField("request_id", "at most 128 characters");
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7e) {
      return InvalidField("request_id", "only printable ASCII characters without spaces");
    }
  }
  return absl::OkStatus();
}

std::string Fingerprint(absl::string_view bytes) {
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string FingerprintOf(std::initializer_list<absl::string_view> parts) {
  std::string joined;
  for (absl::string_view p : parts) absl::StrAppend(&joined, p.size(), ":", p, ";");
  return Fingerprint(joined);
}

std::optional<StoredAnswer> FindAnswer(WriteTxn& txn, absl::string_view tenant,
                                       const IdempotencyKey& key) {
  SQLite::Statement& find = txn.Prepare(
      "SELECT method, fingerprint, response FROM idempotency_keys "
      "WHERE tenant_id = ? AND request_id = ?");
  SQLite::bind(find, std::string(tenant), key.value());
  std::optional<StoredAnswer> found;
  if (find.executeStep()) {
    found = StoredAnswer{find.getColumn(0).getString(), find.getColumn(1).getString(),
                         find.getColumn(2).getString()};
  }
  find.reset();
  return found;
}

absl::Status CheckSameCall(absl::string_view stored_method, absl::string_view stored_fingerprint,
                           absl::string_view method, absl::string_view fingerprint) {
  if (stored_method != method || stored_fingerprint != fingerprint) {
    return InvalidField("request_id", "already used for a different request; use a new request_id");
  }
  return absl::OkStatus();
}

void StoreAnswers(WriteTxn& txn, const std::vector<NewAnswer>& answers, absl::Time now) {
  const int64_t now_us = absl::ToUnixMicros(now);
  ExecMultiRow(txn,
               "INSERT INTO idempotency_keys (tenant_id, request_id, method, fingerprint, "
               "response, created_at) VALUES ",
               6, "", answers.size(), [&](SQLite::Statement& insert, int& p, size_t i) {
                 const NewAnswer& a = answers[i];
                 // SQLITE_STATIC: `answers` outlives the statement's execution.
                 insert.bindNoCopy(p++, a.tenant);
                 insert.bindNoCopy(p++, a.key.value());
                 insert.bindNoCopy(p++, a.method);
                 insert.bindNoCopy(p++, a.fingerprint.data(),
                                   static_cast<int>(a.fingerprint.size()));
                 insert.bindNoCopy(p++, a.response.data(), static_cast<int>(a.response.size()));
                 insert.bind(p++, now_us);
               });
}

absl::StatusOr<std::string> RunIdempotent(
    WriteTxn& txn, absl::string_view tenant, const IdempotencyKey& key, absl::string_view method,
    absl::string_view fingerprint, absl::Time now,
    absl::FunctionRef<absl::StatusOr<std::string>(WriteTxn&)> mutate) {
  absl::Status valid = ValidateIdempotencyKey(key);
  if (!valid.ok()) return valid;
  if (std::optional<StoredAnswer> stored = FindAnswer(txn, tenant, key)) {
    absl::Status same = CheckSameCall(stored->method, stored->fingerprint, method, fingerprint);
    if (!same.ok()) return same;
    return std::move(stored->response);
  }
  absl::StatusOr<std::string> response = mutate(txn);
  if (!response.ok()) return response.status();
  StoreAnswers(txn,
               {NewAnswer{std::string(tenant), key, std::string(method), std::string(fingerprint),
                          *response}},
               now);
  return response;
}

}  // namespace dsar::store
