#include "services/connector_kit/connector_server.h"

#include <memory>

#include "lib/core/log.h"

namespace dsar::connector_kit {

using connector::v1::ExportSubjectDataResponse;

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

namespace {

// Streams an export in batches; each batch is read on the work queue once
// the previous one has been written.
class ExportReactor final : public grpc::ServerWriteReactor<ExportSubjectDataResponse> {
 public:
  ExportReactor(DataSource* source, WorkQueue* queue, CallPolicy* policy, int batch,
                connector::v1::ExportSubjectDataRequest request)
      : source_(source), queue_(queue), batch_(batch), request_(std::move(request)) {
    queue_->Schedule(policy->latency(), [this, policy] {
      absl::Status gate = policy->BeforeDataCall();
      if (!gate.ok()) return Finish(ToGrpcStatus(gate));
      auto stream = source_->StartExport(request_);
      if (!stream.ok()) return Finish(ToGrpcStatus(stream.status()));
      stream_ = std::move(*stream);
      NextBatch();
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
    queue_->Schedule(absl::ZeroDuration(), [this] { NextBatch(); });
  }
  void OnDone() override { delete this; }

 private:
  void NextBatch() {
    response_.Clear();
    auto more = stream_->Next(batch_, response_);
    if (!more.ok()) return Finish(ToGrpcStatus(more.status()));
    if (!*more) return Finish(grpc::Status::OK);
    StartWrite(&response_);
  }

  DataSource* const source_;
  WorkQueue* const queue_;
  const int batch_;
  const connector::v1::ExportSubjectDataRequest request_;
  std::unique_ptr<ExportStream> stream_;
  ExportSubjectDataResponse response_;
};

}  // namespace

ConnectorServer::ConnectorServer(DataSource* source, WorkQueue* queue, CallPolicy* policy,
                                 int export_batch)
    : source_(source),
      queue_(queue),
      policy_(policy != nullptr ? policy : &default_policy_),
      export_batch_(export_batch) {}

grpc::ServerUnaryReactor* ConnectorServer::Describe(grpc::CallbackServerContext* ctx,
                                                    const connector::v1::DescribeRequest*,
                                                    connector::v1::DescribeResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  queue_->Schedule(policy_->latency(), [this, reactor, response] {
    auto result = source_->Describe();
    if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
    *response = std::move(*result);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerWriteReactor<ExportSubjectDataResponse>* ConnectorServer::ExportSubjectData(
    grpc::CallbackServerContext*, const connector::v1::ExportSubjectDataRequest* request) {
  return new ExportReactor(source_, queue_, policy_, export_batch_, *request);
}

grpc::ServerUnaryReactor* ConnectorServer::EraseSubjectData(
    grpc::CallbackServerContext* ctx, const connector::v1::EraseSubjectDataRequest* request,
    connector::v1::EraseSubjectDataResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  queue_->Schedule(policy_->latency(), [this, reactor, request, response] {
    absl::Status gate = policy_->BeforeDataCall();
    if (!gate.ok()) return reactor->Finish(ToGrpcStatus(gate));
    auto result = source_->Erase(*request);
    if (!result.ok()) {
      log::Warn("erase_failed", {{"task_id", request->task_id()},
                                 {"code", absl::StatusCodeToString(result.status().code())}});
      return reactor->Finish(ToGrpcStatus(result.status()));
    }
    *response = std::move(*result);
    log::Info("erase_done", {{"task_id", request->task_id()},
                             {"deleted", response->deleted_count()},
                             {"anonymised", response->anonymised_count()},
                             {"kept", response->kept_records_size()},
                             {"replayed", response->replayed()}});
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ConnectorServer::ApplyConsentChange(
    grpc::CallbackServerContext* ctx, const connector::v1::ApplyConsentChangeRequest* request,
    connector::v1::ApplyConsentChangeResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  queue_->Schedule(policy_->latency(), [this, reactor, request, response] {
    absl::Status gate = policy_->BeforeDataCall();
    if (!gate.ok()) return reactor->Finish(ToGrpcStatus(gate));
    auto result = source_->ApplyConsent(*request);
    if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
    *response = std::move(*result);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ConnectorServer::ListEndedRelationships(
    grpc::CallbackServerContext* ctx, const connector::v1::ListEndedRelationshipsRequest* request,
    connector::v1::ListEndedRelationshipsResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  queue_->Schedule(policy_->latency(), [this, reactor, request, response] {
    absl::Status gate = policy_->BeforeDataCall();
    if (!gate.ok()) return reactor->Finish(ToGrpcStatus(gate));
    auto result = source_->ListEnded(*request);
    if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
    *response = std::move(*result);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace dsar::connector_kit
