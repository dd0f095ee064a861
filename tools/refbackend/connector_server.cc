#include "tools/refbackend/connector_server.h"

#include <unistd.h>

#include "lib/core/log.h"

namespace dsar::refbackend {

using connector::v1::ExportSubjectDataResponse;

namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// Streams an export in batches; each batch is read on the work queue.
class ExportReactor final : public grpc::ServerWriteReactor<ExportSubjectDataResponse> {
 public:
  ExportReactor(Backend* backend, WorkQueue* queue, FaultInjector* faults,
                connector::v1::ExportSubjectDataRequest request)
      : backend_(backend), queue_(queue), request_(std::move(request)) {
    queue_->Schedule(faults->latency(), [this, faults] {
      absl::Status fault = faults->BeforeDataCall();
      if (!fault.ok()) return Finish(ToGrpc(fault));
      auto cursor = backend_->StartExport(request_.subject());
      if (!cursor.ok()) return Finish(ToGrpc(cursor.status()));
      cursor_ = std::move(*cursor);
      NextBatch();
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
    if (cursor_.done()) return Finish(grpc::Status::OK);
    queue_->Schedule(absl::ZeroDuration(), [this] { NextBatch(); });
  }
  void OnDone() override { delete this; }

 private:
  void NextBatch() {
    auto batch = backend_->NextExportBatch(cursor_, kBatch);
    if (!batch.ok()) return Finish(ToGrpc(batch.status()));
    if (batch->empty()) return Finish(grpc::Status::OK);
    response_.Clear();
    for (auto& r : *batch) *response_.add_records() = std::move(r);
    // The identifiers the person is known by, once, with the first batch.
    for (auto& id : cursor_.resolved) *response_.add_resolved_identifiers() = std::move(id);
    cursor_.resolved.clear();
    StartWrite(&response_);
  }

  static constexpr int kBatch = 500;
  Backend* const backend_;
  WorkQueue* const queue_;
  const connector::v1::ExportSubjectDataRequest request_;
  ExportCursor cursor_;
  ExportSubjectDataResponse response_;
};

}  // namespace

absl::Status FaultInjector::BeforeDataCall() {
  int64_t n = ++calls_;
  if (options_.crash_after > 0 && n > options_.crash_after) {
    log::Warn("crash_injected", {{"data_calls", n - 1}});
    _exit(3);
  }
  if (options_.error_rate > 0) {
    absl::MutexLock lock(&mu_);
    // 53 random bits -> [0, 1).
    double u = static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0);
    if (u < options_.error_rate) return absl::UnavailableError("injected fault");
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ConnectorServer::Describe(grpc::CallbackServerContext* ctx,
                                                    const connector::v1::DescribeRequest*,
                                                    connector::v1::DescribeResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  queue_->Schedule(faults_->latency(), [this, reactor, response] {
    *response = backend_->Describe();
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerWriteReactor<ExportSubjectDataResponse>* ConnectorServer::ExportSubjectData(
    grpc::CallbackServerContext*, const connector::v1::ExportSubjectDataRequest* request) {
  return new ExportReactor(backend_, queue_, faults_, *request);
}

grpc::ServerUnaryReactor* ConnectorServer::EraseSubjectData(
    grpc::CallbackServerContext* ctx, const connector::v1::EraseSubjectDataRequest* request,
    connector::v1::EraseSubjectDataResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  queue_->Schedule(faults_->latency(), [this, reactor, request, response] {
    absl::Status fault = faults_->BeforeDataCall();
    if (!fault.ok()) return reactor->Finish(ToGrpc(fault));
    auto result = backend_->Erase(*request);
    if (!result.ok()) return reactor->Finish(ToGrpc(result.status()));
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
  queue_->Schedule(faults_->latency(), [this, reactor, request, response] {
    absl::Status fault = faults_->BeforeDataCall();
    if (!fault.ok()) return reactor->Finish(ToGrpc(fault));
    auto result = backend_->ApplyConsent(*request);
    if (!result.ok()) return reactor->Finish(ToGrpc(result.status()));
    *response = std::move(*result);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ConnectorServer::ListEndedRelationships(
    grpc::CallbackServerContext* ctx, const connector::v1::ListEndedRelationshipsRequest* request,
    connector::v1::ListEndedRelationshipsResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  queue_->Schedule(faults_->latency(), [this, reactor, request, response] {
    absl::Status fault = faults_->BeforeDataCall();
    if (!fault.ok()) return reactor->Finish(ToGrpc(fault));
    connector::v1::ListEndedRelationshipsRequest effective = *request;
    if (faults_->list_every_ended()) {
      effective.mutable_end_time_before()->set_seconds(int64_t{253402300799});  // 9999-12-31
    }
    auto result = backend_->ListEnded(effective);
    if (!result.ok()) return reactor->Finish(ToGrpc(result.status()));
    *response = std::move(*result);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace dsar::refbackend
