#include "tools/bench/echo_server.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace dsar::bench {

using dsar::bench::v1::EchoRequest;
using dsar::bench::v1::EchoResponse;
using dsar::bench::v1::EchoService;

grpc::ServerUnaryReactor* EchoServer::Service::Echo(grpc::CallbackServerContext* context,
                                                    const EchoRequest* request,
                                                    EchoResponse* response) {
  response->set_payload(request->payload());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

absl::StatusOr<std::unique_ptr<EchoServer>> EchoServer::Start(const std::string& address) {
  std::unique_ptr<EchoServer> server(new EchoServer);
  server->host_ = address.substr(0, address.rfind(':'));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &server->port_);
  builder.RegisterService(&server->service_);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("echo server cannot listen on ", address));
  }
  return server;
}

EchoServer::~EchoServer() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
  }
}

std::string EchoServer::target() const { return absl::StrCat(host_, ":", port_); }

ClientFactory EchoClient(int payload_bytes, absl::Duration timeout) {
  std::string payload(payload_bytes, 'p');
  return [payload, timeout](const std::shared_ptr<grpc::Channel>& channel) -> CallFn {
    std::shared_ptr<EchoService::Stub> stub = EchoService::NewStub(channel);
    return [stub, payload, timeout](int64_t seq, CallDone done) {
      EchoRequest request;
      request.set_request_id(absl::StrCat("bench-", seq));
      request.set_payload(payload);
      StartUnaryCall<EchoRequest, EchoResponse>(
          std::move(request), timeout,
          [&stub](grpc::ClientContext* context, const EchoRequest* req, EchoResponse* resp,
                  std::function<void(grpc::Status)> on_done) {
            stub->async()->Echo(context, req, resp, std::move(on_done));
          },
          // `payload` lives in this CallFn, which the generator keeps until
          // every call has completed.
          [&payload](const EchoResponse& response) {
            return response.payload() == payload
                       ? grpc::Status::OK
                       : grpc::Status(grpc::StatusCode::DATA_LOSS, "echo payload differs");
          },
          std::move(done));
    };
  };
}

}  // namespace dsar::bench
