// DataSource: what a connector program knows about its data system, behind
// the one dsar.connector.v1 server every connector shares (ConnectorServer).
//
// It exists so that refbackend and dsar-sql-connector (and the mail and files
// connectors to come) implement only their data operations, in plain C++ over
// the protocol's messages, while the gRPC plumbing (callback reactors, the
// work queue, streaming with bounded memory, status mapping) lives once.
// Implementations must be thread-safe: calls arrive on several pool threads.
#ifndef DSAR_SERVICES_CONNECTOR_KIT_DATA_SOURCE_H_
#define DSAR_SERVICES_CONNECTOR_KIT_DATA_SOURCE_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dsar/connector/v1/connector.pb.h"

namespace dsar::connector_kit {

// One export in progress. Not thread-safe: the server calls Next() for one
// batch at a time.
class ExportStream {
 public:
  virtual ~ExportStream() = default;
  // Fills `out` (cleared by the caller) with up to `max_records` records and
  // returns true, or returns false once nothing is left (then `out` is not
  // sent). Resolved identifiers go with the first batch.
  virtual absl::StatusOr<bool> Next(int max_records,
                                    connector::v1::ExportSubjectDataResponse& out) = 0;
};

class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual absl::StatusOr<connector::v1::DescribeResponse> Describe() = 0;
  // INVALID_ARGUMENT when the subject has no usable identifier.
  virtual absl::StatusOr<std::unique_ptr<ExportStream>> StartExport(
      const connector::v1::ExportSubjectDataRequest& request) = 0;
  virtual absl::StatusOr<connector::v1::EraseSubjectDataResponse> Erase(
      const connector::v1::EraseSubjectDataRequest& request) = 0;
  virtual absl::StatusOr<connector::v1::ApplyConsentChangeResponse> ApplyConsent(
      const connector::v1::ApplyConsentChangeRequest& request) = 0;
  virtual absl::StatusOr<connector::v1::ListEndedRelationshipsResponse> ListEnded(
      const connector::v1::ListEndedRelationshipsRequest& request) = 0;
};

// Decides, per call, when it runs and whether a data call (everything but
// Describe) may proceed: refbackend's fault injection is one. The default
// lets every call through at once. Thread-safe.
class CallPolicy {
 public:
  virtual ~CallPolicy() = default;
  virtual absl::Duration latency() const { return absl::ZeroDuration(); }
  // May not return (an injected crash) or return an error to answer with.
  virtual absl::Status BeforeDataCall() { return absl::OkStatus(); }
};

}  // namespace dsar::connector_kit

#endif  // DSAR_SERVICES_CONNECTOR_KIT_DATA_SOURCE_H_
