// PrivacyRequestServiceImpl: the gRPC adapter for dsar.v1.PrivacyRequestService.
//
// Each handler admits the call (CallGate: principal, role, tenant), converts
// the request to lib/privacy_requests' input, calls PrivacyRequests and finishes from
// its callback, so no gRPC thread waits on a commit. DownloadExport is a
// server-streaming reactor: the disclosure is recorded and audited before the
// first chunk; chunks (at most 64 KiB) are read and decrypted one at a time as
// the client takes them; the last message is the digest. No rules here.
#ifndef DSAR_SERVICES_PRIVACY_REQUEST_SERVICE_H_
#define DSAR_SERVICES_PRIVACY_REQUEST_SERVICE_H_

#include "dsar/v1/privacy_request.grpc.pb.h"

namespace dsar {

class CallGate;
namespace privacy_requests {
class PrivacyRequests;
}

class PrivacyRequestServiceImpl final : public dsar::v1::PrivacyRequestService::CallbackService {
 public:
  // Neither owned; both must outlive the service (and the gRPC server).
  PrivacyRequestServiceImpl(CallGate* gate, privacy_requests::PrivacyRequests* requests)
      : gate_(gate), requests_(requests) {}

  grpc::ServerUnaryReactor* CreatePrivacyRequest(
      grpc::CallbackServerContext* context, const v1::CreatePrivacyRequestRequest* request,
      v1::CreatePrivacyRequestResponse* response) override;
  grpc::ServerUnaryReactor* GetPrivacyRequest(grpc::CallbackServerContext* context,
                                              const v1::GetPrivacyRequestRequest* request,
                                              v1::GetPrivacyRequestResponse* response) override;
  grpc::ServerUnaryReactor* ListPrivacyRequests(grpc::CallbackServerContext* context,
                                                const v1::ListPrivacyRequestsRequest* request,
                                                v1::ListPrivacyRequestsResponse* response) override;
  grpc::ServerUnaryReactor* VerifyIdentity(grpc::CallbackServerContext* context,
                                           const v1::VerifyIdentityRequest* request,
                                           v1::VerifyIdentityResponse* response) override;
  grpc::ServerUnaryReactor* ExtendPrivacyRequest(
      grpc::CallbackServerContext* context, const v1::ExtendPrivacyRequestRequest* request,
      v1::ExtendPrivacyRequestResponse* response) override;
  grpc::ServerUnaryReactor* RejectPrivacyRequest(
      grpc::CallbackServerContext* context, const v1::RejectPrivacyRequestRequest* request,
      v1::RejectPrivacyRequestResponse* response) override;
  grpc::ServerUnaryReactor* CancelPrivacyRequest(
      grpc::CallbackServerContext* context, const v1::CancelPrivacyRequestRequest* request,
      v1::CancelPrivacyRequestResponse* response) override;
  grpc::ServerWriteReactor<v1::DownloadExportResponse>* DownloadExport(
      grpc::CallbackServerContext* context, const v1::DownloadExportRequest* request) override;

 private:
  CallGate* gate_;
  privacy_requests::PrivacyRequests* requests_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_PRIVACY_REQUEST_SERVICE_H_
