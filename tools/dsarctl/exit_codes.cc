#include "tools/dsarctl/exit_codes.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tools/dsarctl/output.h"

namespace dsar::dsarctl {

ExitCode ExitCodeFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::ALREADY_EXISTS:
      return kExitRejected;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kExitDenied;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
      return kExitUnavailable;
    default:
      return kExitError;
  }
}

void PrintError(std::ostream& err, const grpc::Status& status, bool json) {
  google::rpc::Status rich;
  if (status.error_details().empty() || !rich.ParseFromString(status.error_details())) {
    rich.Clear();
  }
  rich.set_code(static_cast<int>(status.error_code()));
  rich.set_message(status.error_message());
  const std::string code_name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  if (json) {
    // google.rpc.Status plus the code's name, so scripts need no table.
    std::string body = ToJson(rich, /*pretty=*/false);
    err << "{\"error\":" << body << ",\"codeName\":\"" << code_name << "\"}\n";
    return;
  }
  err << "dsarctl: " << code_name << ": " << status.error_message() << "\n";
  for (const auto& any : rich.details()) {
    google::rpc::BadRequest bad_request;
    google::rpc::PreconditionFailure precondition;
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&bad_request)) {
      for (const auto& v : bad_request.field_violations()) {
        err << "  field " << v.field() << ": " << v.description() << "\n";
      }
    } else if (any.UnpackTo(&precondition)) {
      for (const auto& v : precondition.violations()) {
        err << "  precondition " << v.type();
        if (!v.subject().empty()) err << " (" << v.subject() << ")";
        err << ": " << v.description() << "\n";
      }
    } else if (any.UnpackTo(&info)) {
      err << "  reason: " << info.reason();
      for (const auto& [k, v] : info.metadata()) err << " " << k << "=" << v;
      err << "\n";
    }
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    err << "  (is dsard running at --server, and do --plaintext / --ca match how it "
           "serves?)\n";
  }
}

}  // namespace dsar::dsarctl
