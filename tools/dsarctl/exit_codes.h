// dsarctl's exit codes, which scripts may rely on (docs/dpo-guide.md), and
// the printing of gRPC errors with their google.rpc details.
#ifndef DSAR_TOOLS_DSARCTL_EXIT_CODES_H_
#define DSAR_TOOLS_DSARCTL_EXIT_CODES_H_

#include <grpcpp/support/status.h>

#include <ostream>

namespace dsar::dsarctl {

enum ExitCode : int {
  kExitOk = 0,
  // Anything not listed below (INTERNAL, UNKNOWN, DATA_LOSS, CANCELLED,
  // UNIMPLEMENTED, a local I/O error).
  kExitError = 1,
  // Bad command line, unknown or missing flag or argument, bad config file.
  kExitUsage = 2,
  // NOT_FOUND.
  kExitNotFound = 3,
  // INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, ALREADY_EXISTS: the
  // request was understood and refused; retrying it unchanged will not help.
  kExitRejected = 4,
  // UNAUTHENTICATED, PERMISSION_DENIED.
  kExitDenied = 5,
  // UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED: try again
  // later (or check --server and TLS settings).
  kExitUnavailable = 6,
  // The call succeeded but the check it ran failed: the audit chain is
  // broken, the server is not serving, a digest does not match.
  kExitCheckFailed = 7,
};

ExitCode ExitCodeFor(grpc::StatusCode code);

// Prints `status` to `err`: "dsarctl: CODE: message" and one indented line per
// field violation, precondition failure and error reason; as one JSON object
// {"error": google.rpc.Status} when `json`.
void PrintError(std::ostream& err, const grpc::Status& status, bool json);

}  // namespace dsar::dsarctl

#endif  // DSAR_TOOLS_DSARCTL_EXIT_CODES_H_
