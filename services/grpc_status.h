// The one mapping from domain absl::Status to grpc::Status.
//
// Code and message are copied; every payload whose key is a type URL
// ("type.googleapis.com/google.rpc.BadRequest", ...) becomes an Any in a
// google.rpc.Status carried in the grpc-status-details-bin trailer, so clients
// (grpcurl, buf curl, any gRPC library) see standard rich error details.
#ifndef DSAR_SERVICES_GRPC_STATUS_H_
#define DSAR_SERVICES_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace dsar {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The inverse, for clients and tests: details become payloads again.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace dsar

#endif  // DSAR_SERVICES_GRPC_STATUS_H_
