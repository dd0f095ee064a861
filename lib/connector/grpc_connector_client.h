// A ConnectorClient speaking dsar.connector.v1.DataSourceConnector over gRPC.
//
// One channel per connector (HTTP/2 multiplexes concurrent calls), plaintext
// only to loopback addresses (the config enforces it) or TLS / mutual TLS from
// PEM files, and an optional bearer token sent on every call. The header holds
// no gRPC types; the implementation is the only place that converts between
// the connector protocol and lib/connector's plain structs. Thread-safe.
#ifndef DSAR_LIB_CONNECTOR_GRPC_CONNECTOR_CLIENT_H_
#define DSAR_LIB_CONNECTOR_GRPC_CONNECTOR_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lib/connector/connector_client.h"

namespace dsar::connector {

struct GrpcEndpoint {
  std::string address;  // host:port
  bool tls = false;
  std::string ca_file;            // PEM; empty: system roots
  std::string cert_file;          // PEM client certificate (mutual TLS)
  std::string key_file;           // PEM client key (mutual TLS)
  std::string server_name;        // override of the expected certificate name
  std::string bearer_token_file;  // empty: no authorization header
  int max_message_bytes = 16 << 20;
};

// Reads the TLS and token files and creates the channel (it connects lazily).
// FAILED_PRECONDITION when a file cannot be read.
absl::StatusOr<std::unique_ptr<ConnectorClient>> NewGrpcConnectorClient(
    const GrpcEndpoint& endpoint);

}  // namespace dsar::connector

#endif  // DSAR_LIB_CONNECTOR_GRPC_CONNECTOR_CLIENT_H_
