// GrpcServer: dsard's gRPC server with health and reflection always on.
//
// Used by dsard's main and by integration tests (port 0, read back with
// port()). Shutdown() is the graceful path taken on SIGTERM: health turns
// NOT_SERVING, no new calls are accepted, in-flight calls get `grace` to
// finish and are cancelled after it.
#ifndef DSAR_SERVICES_GRPC_SERVER_H_
#define DSAR_SERVICES_GRPC_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace grpc {
class Server;
class Service;
class ServerCredentials;
}  // namespace grpc

namespace dsar {

namespace config::v1 {
class TlsConfig;
}

// Server credentials for TLS, or mutual TLS when a client CA is given. The PEM
// files are watched and re-read when they change (every
// refresh_interval_seconds), so certificates rotate without a restart.
// FAILED_PRECONDITION when a file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentialsFromConfig(
    const config::v1::TlsConfig& tls);

struct GrpcServerOptions {
  std::string listen_address = "127.0.0.1:0";
  int max_message_bytes = 4 << 20;
  int max_concurrent_streams = 1000;  // per connection
  // Null means plaintext (insecure loopback demo).
  std::shared_ptr<grpc::ServerCredentials> credentials;
};

class GrpcServer {
 public:
  // Builds and starts the server with `services` (not owned; they must outlive
  // the server). UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options, const std::vector<grpc::Service*>& services);
  ~GrpcServer();

  int port() const { return port_; }
  std::string address() const;
  // Graceful stop; idempotent.
  void Shutdown(absl::Duration grace);
  grpc::Server* server() { return server_.get(); }

 private:
  GrpcServer() = default;
  std::unique_ptr<grpc::Server> server_;
  std::string host_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_GRPC_SERVER_H_
