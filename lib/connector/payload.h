// Task payloads: the personal data a connector task carries (the subject's
// identifiers, and for consent changes the purpose and direction), sealed at
// rest.
//
// Payloads are encrypted with XChaCha20-Poly1305 (libsodium) under a key
// derived from a secret file, with the task id as associated data, so the
// outbox table never holds an identifier in clear and a payload cannot be
// moved to another task. Done tasks have their payload wiped. Immutable after
// construction; thread-safe.
#ifndef DSAR_LIB_CONNECTOR_PAYLOAD_H_
#define DSAR_LIB_CONNECTOR_PAYLOAD_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/connector/task.h"

namespace dsar::connector {

struct TaskPayload {
  std::vector<SubjectIdentifier> subject;
  std::string purpose;         // consent.apply
  bool consent_given = false;  // consent.apply
  absl::Time change_time = absl::InfinitePast();
};

class PayloadSealer {
 public:
  // `secret` must hold at least 32 bytes; the key is HMAC-SHA256(secret,
  // "dsar-outbox-payload-v1"). FAILED_PRECONDITION otherwise.
  static absl::StatusOr<std::unique_ptr<PayloadSealer>> FromSecret(absl::string_view secret);
  // FAILED_PRECONDITION naming the file when it cannot be read or is short.
  static absl::StatusOr<std::unique_ptr<PayloadSealer>> FromSecretFile(const std::string& path);
  ~PayloadSealer();
  PayloadSealer(const PayloadSealer&) = delete;
  PayloadSealer& operator=(const PayloadSealer&) = delete;

  std::string Seal(const TaskPayload& payload, absl::string_view task_id) const;
  // DATA_LOSS when the bytes were altered, belong to another task or another key.
  absl::StatusOr<TaskPayload> Open(absl::string_view sealed, absl::string_view task_id) const;

 private:
  PayloadSealer() = default;
  unsigned char key_[32];
};

}  // namespace dsar::connector

#endif  // DSAR_LIB_CONNECTOR_PAYLOAD_H_
