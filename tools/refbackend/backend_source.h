// BackendSource: a reference Backend as the DataSource the shared connector
// server serves (tools/refbackend's main and the tests' in-process backend).
// The one refbackend fault that changes an answer rather than a call
// (list_every_ended) is applied here. Thread-safe, like Backend.
#ifndef DSAR_TOOLS_REFBACKEND_BACKEND_SOURCE_H_
#define DSAR_TOOLS_REFBACKEND_BACKEND_SOURCE_H_

#include <memory>

#include "services/connector_kit/data_source.h"
#include "tools/refbackend/backend.h"

namespace dsar::refbackend {

class BackendSource final : public connector_kit::DataSource {
 public:
  // `backend` is not owned and must outlive this.
  BackendSource(Backend* backend, bool list_every_ended = false)
      : backend_(backend), list_every_ended_(list_every_ended) {}

  absl::StatusOr<connector::v1::DescribeResponse> Describe() override {
    return backend_->Describe();
  }
  absl::StatusOr<std::unique_ptr<connector_kit::ExportStream>> StartExport(
      const connector::v1::ExportSubjectDataRequest& request) override;
  absl::StatusOr<connector::v1::EraseSubjectDataResponse> Erase(
      const connector::v1::EraseSubjectDataRequest& request) override {
    return backend_->Erase(request);
  }
  absl::StatusOr<connector::v1::ApplyConsentChangeResponse> ApplyConsent(
      const connector::v1::ApplyConsentChangeRequest& request) override {
    return backend_->ApplyConsent(request);
  }
  absl::StatusOr<connector::v1::ListEndedRelationshipsResponse> ListEnded(
      const connector::v1::ListEndedRelationshipsRequest& request) override;

 private:
  Backend* const backend_;
  const bool list_every_ended_;
};

}  // namespace dsar::refbackend

#endif  // DSAR_TOOLS_REFBACKEND_BACKEND_SOURCE_H_
