// InProcessRefBackend: a reference booking or CRM system (tools/refbackend's
// Backend behind the shared connector_kit::ConnectorServer) served in the test process on
// 127.0.0.1, with its own SQLite file of synthetic people. Integration tests point dsard's
// connectors at it and read its database directly to check what an erasure
// did. Stop() and Start() on the same port simulate an outage.
#ifndef DSAR_TESTS_TESTING_REF_BACKEND_H_
#define DSAR_TESTS_TESTING_REF_BACKEND_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/core/clock.h"
#include "services/connector_kit/connector_server.h"
#include "services/connector_kit/work_queue.h"
#include "tools/refbackend/backend.h"
#include "tools/refbackend/backend_source.h"
#include "tools/refbackend/fault_injector.h"

namespace dsar::testing {

class InProcessRefBackend {
 public:
  InProcessRefBackend(refbackend::Kind kind, std::string db_path, int people)
      : kind_(kind), db_path_(std::move(db_path)), people_(people) {}
  ~InProcessRefBackend() { Stop(); }

  // Opens (seeding on first use) and serves; `port` 0 picks one.
  bool Start(int port = 0) {
    refbackend::BackendOptions options;
    options.kind = kind_;
    options.db_path = db_path_;
    options.seed = 7;
    options.people = people_;
    auto backend = refbackend::Backend::Open(options, SystemClock::Default());
    if (!backend.ok()) return false;
    backend_ = std::move(*backend);
    queue_ = std::make_unique<connector_kit::WorkQueue>(4);
    faults_ = std::make_unique<refbackend::FaultInjector>(fault_options_);
    source_ = std::make_unique<refbackend::BackendSource>(backend_.get(),
                                                          fault_options_.list_every_ended);
    service_ = std::make_unique<connector_kit::ConnectorServer>(source_.get(), queue_.get(),
                                                                faults_.get());
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    return server_ != nullptr && port_ > 0;
  }

  void Stop() {
    if (server_) {
      queue_->Hurry();
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      server_->Wait();
      server_.reset();
    }
    if (queue_) queue_->Stop();
    service_.reset();
    source_.reset();
    queue_.reset();
    if (backend_) backend_->store().Close();
    backend_.reset();
  }

  int port() const { return port_; }
  // Faults injected from the next Start() on.
  void set_fault_options(const refbackend::FaultOptions& o) { fault_options_ = o; }
  refbackend::Backend& backend() { return *backend_; }

  // Record ids the system holds for a subject (by e-mail), as its export
  // would stream them.
  std::set<std::string> RecordIds(const std::string& email) {
    connector::v1::SubjectIdentity subject;
    auto* id = subject.add_identifiers();
    id->set_type(connector::v1::IDENTIFIER_TYPE_EMAIL);
    id->set_value(email);
    std::set<std::string> out;
    auto cursor = backend_->StartExport(subject);
    if (!cursor.ok()) return out;
    while (!cursor->done()) {
      auto batch = backend_->NextExportBatch(*cursor, 500);
      if (!batch.ok()) break;
      for (const auto& r : *batch) out.insert(r.record_id());
    }
    return out;
  }

 private:
  const refbackend::Kind kind_;
  const std::string db_path_;
  const int people_;
  int port_ = 0;
  refbackend::FaultOptions fault_options_;
  std::unique_ptr<refbackend::Backend> backend_;
  std::unique_ptr<connector_kit::WorkQueue> queue_;
  std::unique_ptr<refbackend::FaultInjector> faults_;
  std::unique_ptr<refbackend::BackendSource> source_;
  std::unique_ptr<connector_kit::ConnectorServer> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_REF_BACKEND_H_
