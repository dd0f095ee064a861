// Rich errors for domain code, without gRPC types.
//
// Domain modules return absl::Status. When a caller needs to know *which* field
// was bad or *which* precondition failed, the details are attached as
// google.rpc messages in the status payload, keyed by their type URL. The one
// transport mapping (services/grpc_status.h) copies every such payload into the
// grpc-status-details-bin trailer, so clients see standard google.rpc details.
#ifndef DSAR_LIB_CORE_ERRORS_H_
#define DSAR_LIB_CORE_ERRORS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace dsar {

inline constexpr absl::string_view kErrorDomain = "dsar.v1";

struct FieldViolation {
  std::string field;        // path of the bad field, e.g. "consent.language"
  std::string description;  // why it is bad, for a human
};

struct PreconditionViolation {
  std::string type;         // e.g. "STATE", "NOTICE_VERSION"
  std::string subject;      // what it is about, e.g. "privacyRequests/abc"
  std::string description;  // what is missing or wrong
};

// Collects field violations during validation; ToStatus() yields OK when none.
class FieldErrors {
 public:
  void Add(std::string field, std::string description) {
    violations_.push_back({std::move(field), std::move(description)});
  }
  bool empty() const { return violations_.empty(); }
  const std::vector<FieldViolation>& violations() const { return violations_; }
  // INVALID_ARGUMENT naming every collected field, or OK when none.
  absl::Status ToStatus(absl::string_view message = "invalid request") const;

 private:
  std::vector<FieldViolation> violations_;
};

// INVALID_ARGUMENT with a google.rpc.BadRequest detail.
absl::Status InvalidArgumentWithFields(absl::string_view message,
                                       const std::vector<FieldViolation>& violations);
// Shorthand for one bad field.
absl::Status InvalidField(absl::string_view field, absl::string_view description);

// FAILED_PRECONDITION with a google.rpc.PreconditionFailure detail.
absl::Status FailedPreconditionWithViolations(absl::string_view message,
                                              const std::vector<PreconditionViolation>& violations);

// Attaches a google.rpc.ErrorInfo (domain kErrorDomain) to `status`.
absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata = {});

// Readers, mainly for tests and logging of non-personal error shapes.
std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status);
std::vector<PreconditionViolation> PreconditionViolationsOf(const absl::Status& status);
std::string ErrorReasonOf(const absl::Status& status);

}  // namespace dsar

#endif  // DSAR_LIB_CORE_ERRORS_H_
