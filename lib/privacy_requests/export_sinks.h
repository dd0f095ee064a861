// ExportSinks: where the records of a privacy request's subject.export tasks
// go (the dispatcher's ExportSinkFactory).
//
// For an access or portability request, each connector task's records are
// written as they stream in, one encrypted part file per category (under the
// request's own key), never held whole in memory; Close() writes a manifest
// (categories and counts) and moves them into place, so a retried export
// replaces a previous attempt. Parts are not fsynced: they are intermediate,
// and a part lost or torn by a crash is detected when the bundle is built
// (authenticated encryption with a final tag) and re-exported. For an
// erasure's verification export nothing is kept: any record the erasure did
// not report as kept (e.g. under legal hold) ends the export with
// FAILED_PRECONDITION, which dead-letters the task and fails
// the request. Tasks of other modules, or of closed requests, are counted and
// dropped.
//
// Thread-safe: Open may be called from any worker thread; each sink belongs to
// one task (one thread).
#ifndef DSAR_LIB_PRIVACY_REQUESTS_EXPORT_SINKS_H_
#define DSAR_LIB_PRIVACY_REQUESTS_EXPORT_SINKS_H_

#include <memory>

#include "lib/connector/dispatcher.h"
#include "lib/privacy_requests/request_env.h"

namespace dsar::privacy_requests {

class ExportSinks final : public connector::ExportSinkFactory {
 public:
  explicit ExportSinks(RequestEnv* env) : env_(env) {}
  absl::StatusOr<std::unique_ptr<connector::ExportSink>> Open(
      const connector::TaskInfo& task) override;

 private:
  RequestEnv* const env_;
};

// One exported record as the bundle holds it: {"record_id", "create_time",
// "data"}; `data` is the connector's JSON object, or a string when the
// connector sent something that is not JSON.
std::string RecordJson(const connector::ExportedRecord& record);

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_EXPORT_SINKS_H_
