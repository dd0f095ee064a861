#include "tools/refbackend/backend_source.h"

namespace dsar::refbackend {

namespace {

// A Backend's export cursor as an ExportStream.
class BackendExport final : public connector_kit::ExportStream {
 public:
  BackendExport(Backend* backend, ExportCursor cursor)
      : backend_(backend), cursor_(std::move(cursor)) {}

  absl::StatusOr<bool> Next(int max_records,
                            connector::v1::ExportSubjectDataResponse& out) override {
    if (cursor_.done()) return false;
    auto batch = backend_->NextExportBatch(cursor_, max_records);
    if (!batch.ok()) return batch.status();
    if (batch->empty()) return false;
    for (auto& r : *batch) *out.add_records() = std::move(r);
    // The identifiers the person is known by, once, with the first batch.
    for (auto& id : cursor_.resolved) *out.add_resolved_identifiers() = std::move(id);
    cursor_.resolved.clear();
    return true;
  }

 private:
  Backend* const backend_;
  ExportCursor cursor_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<connector_kit::ExportStream>> BackendSource::StartExport(
    const connector::v1::ExportSubjectDataRequest& request) {
  auto cursor = backend_->StartExport(request.subject());
  if (!cursor.ok()) return cursor.status();
  return std::make_unique<BackendExport>(backend_, std::move(*cursor));
}

absl::StatusOr<connector::v1::ListEndedRelationshipsResponse> BackendSource::ListEnded(
    const connector::v1::ListEndedRelationshipsRequest& request) {
  if (!list_every_ended_) return backend_->ListEnded(request);
  connector::v1::ListEndedRelationshipsRequest effective = request;
  effective.mutable_end_time_before()->set_seconds(int64_t{253402300799});  // 9999-12-31
  return backend_->ListEnded(effective);
}

}  // namespace dsar::refbackend
