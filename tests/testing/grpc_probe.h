// Probes for a running gRPC server that need no generated client code:
// standard health (generated from grpc-proto's health.proto for tests) and
// server reflection (raw bytes through a GenericStub, parsed as unknown
// fields, so the test does not clash with the reflection library's own
// descriptors).
#ifndef DSAR_TESTS_TESTING_GRPC_PROBE_H_
#define DSAR_TESTS_TESTING_GRPC_PROBE_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace dsar::testing {

inline std::shared_ptr<grpc::Channel> LoopbackChannel(int port) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureChannelCredentials());
}

// Health.Check for `service` ("" = the whole server).
inline absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> CheckHealth(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service = "") {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&ctx, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return response.status();
}

// Sends one ServerReflectionRequest (already serialized) and returns the
// serialized ServerReflectionResponse.
inline absl::StatusOr<std::string> ReflectionCall(const std::shared_ptr<grpc::Channel>& channel,
                                                  const std::string& request_bytes) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto step = [&](void* tag) {
    void* got = nullptr;
    bool ok = false;
    return cq.Next(&got, &ok) && got == tag && ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  if (!step(reinterpret_cast<void*>(1))) return absl::UnavailableError("start failed");
  grpc::Slice slice(request_bytes.data(), request_bytes.size());
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  if (!step(reinterpret_cast<void*>(2))) return absl::UnavailableError("write failed");
  call->WritesDone(reinterpret_cast<void*>(3));
  if (!step(reinterpret_cast<void*>(3))) return absl::UnavailableError("writes done failed");
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(4));
  if (!step(reinterpret_cast<void*>(4))) return absl::UnavailableError("read failed");
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(reinterpret_cast<void*>(5));
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes;
}

// A length-delimited field `number` holding `value`, as protobuf wire bytes.
inline std::string WireString(int number, const std::string& value) {
  std::string out;
  auto varint = [&out](uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  varint((static_cast<uint64_t>(number) << 3) | 2);
  varint(value.size());
  out += value;
  return out;
}

// Asks server reflection for the list of services.
inline absl::StatusOr<std::vector<std::string>> ListServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel) {
  // ServerReflectionRequest{list_services (field 7) = ""}.
  auto bytes = ReflectionCall(channel, WireString(7, ""));
  if (!bytes.ok()) return bytes.status();
  // ServerReflectionResponse.list_services_response (6) -> ListServiceResponse
  // .service (1, repeated) -> ServiceResponse.name (1).
  google::protobuf::UnknownFieldSet top;
  if (!top.ParseFromString(*bytes)) return absl::InternalError("bad reflection response");
  std::vector<std::string> names;
  for (int i = 0; i < top.field_count(); ++i) {
    if (top.field(i).number() != 6) continue;
    google::protobuf::UnknownFieldSet list;
    list.ParseFromString(top.field(i).length_delimited());
    for (int j = 0; j < list.field_count(); ++j) {
      google::protobuf::UnknownFieldSet service;
      service.ParseFromString(list.field(j).length_delimited());
      for (int k = 0; k < service.field_count(); ++k) {
        if (service.field(k).number() == 1) names.push_back(service.field(k).length_delimited());
      }
    }
  }
  return names;
}

// True when reflection can send the file that defines `symbol` (what clients
// such as buf curl and grpcurl need to call a service).
inline absl::StatusOr<bool> ReflectionDescribes(const std::shared_ptr<grpc::Channel>& channel,
                                                const std::string& symbol) {
  // ServerReflectionRequest{file_containing_symbol (field 4)}.
  auto bytes = ReflectionCall(channel, WireString(4, symbol));
  if (!bytes.ok()) return bytes.status();
  google::protobuf::UnknownFieldSet top;
  if (!top.ParseFromString(*bytes)) return absl::InternalError("bad reflection response");
  for (int i = 0; i < top.field_count(); ++i) {
    if (top.field(i).number() == 4) return true;  // file_descriptor_response
  }
  return false;  // error_response (7)
}

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_GRPC_PROBE_H_
