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
class ServerConfig;
class TlsConfig;
}  // namespace config::v1

// Server credentials for TLS, or mutual TLS when a client CA is given. The PEM
// files are watched and re-read when they change (every
// refresh_interval_seconds), so certificates rotate without a restart.
// FAILED_PRECONDITION when a file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentialsFromConfig(
    const config::v1::TlsConfig& tls);

// What one connection may hold and how long it lives (config ServerConfig;
// the defaults are its defaults).
struct GrpcServerOptions {
  std::string listen_address = "127.0.0.1:0";
  int max_message_bytes = 4 << 20;
  int max_concurrent_streams = 100;  // per connection
  absl::Duration keepalive_time = absl::Minutes(5);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  absl::Duration min_client_ping_interval = absl::Minutes(1);
  absl::Duration max_connection_idle = absl::Minutes(30);
  absl::Duration max_connection_age = absl::Hours(24);
  absl::Duration max_connection_age_grace = absl::Minutes(10);
  int64_t resource_quota_bytes = int64_t{512} << 20;
  // Null means plaintext (insecure loopback demo).
  std::shared_ptr<grpc::ServerCredentials> credentials;
};

// Fills the connection limits of `options` from the config's `server`.
void ApplyServerConfig(const config::v1::ServerConfig& server, GrpcServerOptions* options);

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
