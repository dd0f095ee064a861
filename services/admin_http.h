// AdminHttpServer: dsard's admin HTTP endpoint (cpp-httplib), apart from the
// gRPC port: GET /metrics (Prometheus text format 0.0.4) and GET /healthz
// ("ok" while the process serves; use gRPC health for readiness). It takes
// no authentication and serves no personal data; bind it to loopback.
//
// Thread-safe; handlers run on a small pool of the server's threads.
#ifndef DSAR_SERVICES_ADMIN_HTTP_H_
#define DSAR_SERVICES_ADMIN_HTTP_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace dsar {

class AdminHttpServer {
 public:
  // Renders the metrics text; called per scrape.
  using MetricsFn = std::function<std::string()>;

  // Binds `address` (host:port, [v6]:port; port 0 picks one) and serves.
  // UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Start(const std::string& address,
                                                                MetricsFn metrics);
  ~AdminHttpServer();

  int port() const { return port_; }
  // Stops accepting and waits for the listener thread. Idempotent.
  void Stop();

 private:
  AdminHttpServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  int port_ = 0;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_ADMIN_HTTP_H_
