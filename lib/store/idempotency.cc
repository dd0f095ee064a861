#include "lib/store/idempotency.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "lib/core/errors.h"

namespace dsar::store {

absl::Status ValidateRequestId(absl::string_view request_id) {
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

absl::StatusOr<std::string> RunIdempotent(
    WriteTxn& txn, const RequestContext& ctx, absl::string_view fingerprint, absl::Time now,
    absl::FunctionRef<absl::StatusOr<std::string>(WriteTxn&)> mutate) {
  absl::Status valid = ValidateRequestId(ctx.request_id);
  if (!valid.ok()) return valid;
  SQLite::Statement& find = txn.Prepare(
      "SELECT method, fingerprint, response FROM idempotency_keys "
      "WHERE tenant_id = ? AND request_id = ?");
  find.bind(1, ctx.tenant);
  find.bind(2, ctx.request_id);
  if (find.executeStep()) {
    std::string method = find.getColumn(0).getString();
    std::string stored_fingerprint = find.getColumn(1).getString();
    std::string response = find.getColumn(2).getString();
    find.reset();
    if (method != ctx.method || stored_fingerprint != fingerprint) {
      return InvalidField("request_id",
                          "already used for a different request; use a new request_id");
    }
    return response;
  }
  find.reset();
  absl::StatusOr<std::string> response = mutate(txn);
  if (!response.ok()) return response.status();
  SQLite::Statement& insert = txn.Prepare(
      "INSERT INTO idempotency_keys (tenant_id, request_id, method, fingerprint, response, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?)");
  insert.bind(1, ctx.tenant);
  insert.bind(2, ctx.request_id);
  insert.bind(3, ctx.method);
  insert.bind(4, fingerprint.data(), static_cast<int>(fingerprint.size()));
  insert.bind(5, response->data(), static_cast<int>(response->size()));
  insert.bind(6, static_cast<int64_t>(absl::ToUnixMicros(now)));
  insert.exec();
  return response;
}

}  // namespace dsar::store
