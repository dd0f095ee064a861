// ConnectorServer: the dsar.connector.v1.DataSourceConnector gRPC service
// (callback API) over a DataSource, shared by every connector program.
//
// Handlers never block gRPC's threads: each call's work is scheduled on a
// WorkQueue, delayed by the CallPolicy's latency. The policy's
// BeforeDataCall gates data calls (Export, Erase, ApplyConsentChange,
// ListEndedRelationships); Describe only gets the latency, so a health probe
// tells "reachable but failing" from "down". Exports are streamed one batch
// at a time (the next batch is read after the previous one was written), so
// memory stays bounded by one batch. Thread-safe.
#ifndef DSAR_SERVICES_CONNECTOR_KIT_CONNECTOR_SERVER_H_
#define DSAR_SERVICES_CONNECTOR_KIT_CONNECTOR_SERVER_H_

#include "dsar/connector/v1/connector.grpc.pb.h"
#include "services/connector_kit/data_source.h"
#include "services/connector_kit/work_queue.h"

namespace dsar::connector_kit {

// The absl status as a gRPC status (same code and message).
grpc::Status ToGrpcStatus(const absl::Status& s);

class ConnectorServer final : public connector::v1::DataSourceConnector::CallbackService {
 public:
  // Pointers are not owned and must outlive the server; `policy` may be null
  // (every call at once, never refused).
  ConnectorServer(DataSource* source, WorkQueue* queue, CallPolicy* policy = nullptr,
                  int export_batch = 500);

  grpc::ServerUnaryReactor* Describe(grpc::CallbackServerContext* ctx,
                                     const connector::v1::DescribeRequest* request,
                                     connector::v1::DescribeResponse* response) override;
  grpc::ServerWriteReactor<connector::v1::ExportSubjectDataResponse>* ExportSubjectData(
      grpc::CallbackServerContext* ctx,
      const connector::v1::ExportSubjectDataRequest* request) override;
  grpc::ServerUnaryReactor* EraseSubjectData(
      grpc::CallbackServerContext* ctx, const connector::v1::EraseSubjectDataRequest* request,
      connector::v1::EraseSubjectDataResponse* response) override;
  grpc::ServerUnaryReactor* ApplyConsentChange(
      grpc::CallbackServerContext* ctx, const connector::v1::ApplyConsentChangeRequest* request,
      connector::v1::ApplyConsentChangeResponse* response) override;
  grpc::ServerUnaryReactor* ListEndedRelationships(
      grpc::CallbackServerContext* ctx, const connector::v1::ListEndedRelationshipsRequest* request,
      connector::v1::ListEndedRelationshipsResponse* response) override;

 private:
  DataSource* const source_;
  WorkQueue* const queue_;
  CallPolicy default_policy_;
  CallPolicy* const policy_;
  const int export_batch_;
};

}  // namespace dsar::connector_kit

#endif  // DSAR_SERVICES_CONNECTOR_KIT_CONNECTOR_SERVER_H_
