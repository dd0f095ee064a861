// EchoServer: the bare gRPC baseline for dsar-bench. A callback-API
// dsar.bench.v1.EchoService that copies the request payload into the reply,
// with nothing else on the call path (no health, reflection, auth or store),
// listening on 127.0.0.1 port 0 in-process. Also holds the client side used
// with the load generator.
//
// Thread-safe; Echo calls run on gRPC's callback threads.
#ifndef DSAR_TOOLS_BENCH_ECHO_SERVER_H_
#define DSAR_TOOLS_BENCH_ECHO_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dsar/bench/v1/echo.grpc.pb.h"
#include "tools/bench/load_generator.h"

namespace dsar::bench {

class EchoServer {
 public:
  // Starts on `address` (port 0 picks a free port). UNAVAILABLE when it
  // cannot bind.
  static absl::StatusOr<std::unique_ptr<EchoServer>> Start(
      const std::string& address = "127.0.0.1:0");
  ~EchoServer();

  int port() const { return port_; }
  std::string target() const;  // "127.0.0.1:<port>"

 private:
  class Service final : public dsar::bench::v1::EchoService::CallbackService {
    grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                   const dsar::bench::v1::EchoRequest* request,
                                   dsar::bench::v1::EchoResponse* response) override;
  };

  EchoServer() = default;
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  std::string host_;
  int port_ = 0;
};

// Per connection: an EchoService stub whose calls carry a request_id and a
// `payload_bytes` payload and must get the payload back.
ClientFactory EchoClient(int payload_bytes, absl::Duration timeout = absl::Seconds(10));

}  // namespace dsar::bench

#endif  // DSAR_TOOLS_BENCH_ECHO_SERVER_H_
