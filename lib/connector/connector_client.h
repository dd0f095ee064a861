// ConnectorClient: how dsard talks to one data system, without gRPC types.
//
// The production implementation (grpc_connector_client.h) speaks
// dsar.connector.v1.DataSourceConnector; tests substitute fakes or wrap it in a
// forwarding fault-injector (as leveldb's EnvWrapper). Every call takes a
// timeout and must return within it (DEADLINE_EXCEEDED), so a hanging backend
// never holds a worker longer. Status codes are the connector's own:
// UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED are transient,
// UNIMPLEMENTED means the system does not offer the operation, others are
// permanent. Implementations are thread-safe.
#ifndef DSAR_LIB_CONNECTOR_CONNECTOR_CLIENT_H_
#define DSAR_LIB_CONNECTOR_CONNECTOR_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/connector/task.h"

namespace dsar::connector {

struct SubProcessor {
  std::string name;
  std::string country;
  std::string service;
};

// What a connector says about itself (Describe).
struct Description {
  std::string system;
  std::string display_name;
  std::vector<std::string> categories;
  std::vector<std::string> purposes;
  std::string country;
  std::string processor;
  std::vector<SubProcessor> sub_processors;
  std::string version;
};

struct SubjectCall {
  std::string task_id;
  std::string tenant;
  std::vector<SubjectIdentifier> subject;
};

struct EraseOutcome {
  bool in_progress = false;  // asynchronous backend: ask again later
  int64_t deleted = 0;
  int64_t anonymised = 0;
  std::vector<KeptRecord> kept;
  bool replayed = false;
  // Identifiers under which the system knew the person (personal data).
  std::vector<SubjectIdentifier> resolved;
};

struct ConsentCall {
  SubjectCall target;
  std::string purpose;
  bool given = false;
  absl::Time change_time;
};

struct ConsentOutcome {
  bool in_progress = false;
  int64_t affected = 0;
  bool replayed = false;
  bool no_match = false;  // the system holds no record under the subject's identifiers
};

// One exported record; `json` holds personal data.
struct ExportedRecord {
  std::string record_id;
  std::string system;
  std::string category;
  std::string json;
  absl::Time create_time = absl::InfinitePast();
};

struct EndedRelationship {
  std::vector<SubjectIdentifier> subject;
  absl::Time end_time;
};

struct EndedRelationshipsPage {
  std::vector<EndedRelationship> relationships;
  std::string next_page_token;
};

class ConnectorClient {
 public:
  virtual ~ConnectorClient() = default;

  virtual absl::StatusOr<Description> Describe(absl::Duration timeout) = 0;
  // Streams every record to `on_record`; an error from it cancels the call
  // and is returned. The identifiers under which the system knows the person
  // are appended to `resolved` (personal data).
  virtual absl::Status Export(const SubjectCall& call, absl::Duration timeout,
                              absl::FunctionRef<absl::Status(ExportedRecord)> on_record,
                              std::vector<SubjectIdentifier>* resolved) = 0;
  virtual absl::StatusOr<EraseOutcome> Erase(const SubjectCall& call, absl::Duration timeout) = 0;
  virtual absl::StatusOr<ConsentOutcome> ApplyConsentChange(const ConsentCall& call,
                                                            absl::Duration timeout) = 0;
  virtual absl::StatusOr<EndedRelationshipsPage> ListEndedRelationships(
      absl::string_view tenant, absl::Time ended_before, int page_size,
      absl::string_view page_token, absl::Duration timeout) = 0;
  // Cancels every call in flight (they return CANCELLED); for shutdown.
  virtual void CancelAll() {}
};

// Forwards every call to another client; tests override what they break.
class ForwardingConnectorClient : public ConnectorClient {
 public:
  explicit ForwardingConnectorClient(ConnectorClient* target) : target_(target) {}
  absl::StatusOr<Description> Describe(absl::Duration timeout) override {
    return target_->Describe(timeout);
  }
  absl::Status Export(const SubjectCall& call, absl::Duration timeout,
                      absl::FunctionRef<absl::Status(ExportedRecord)> on_record,
                      std::vector<SubjectIdentifier>* resolved) override {
    return target_->Export(call, timeout, on_record, resolved);
  }
  absl::StatusOr<EraseOutcome> Erase(const SubjectCall& call, absl::Duration timeout) override {
    return target_->Erase(call, timeout);
  }
  absl::StatusOr<ConsentOutcome> ApplyConsentChange(const ConsentCall& call,
                                                    absl::Duration timeout) override {
    return target_->ApplyConsentChange(call, timeout);
  }
  absl::StatusOr<EndedRelationshipsPage> ListEndedRelationships(absl::string_view tenant,
                                                                absl::Time ended_before,
                                                                int page_size,
                                                                absl::string_view page_token,
                                                                absl::Duration timeout) override {
    return target_->ListEndedRelationships(tenant, ended_before, page_size, page_token, timeout);
  }
  void CancelAll() override { target_->CancelAll(); }

 protected:
  ConnectorClient* target() { return target_; }

 private:
  ConnectorClient* target_;
};

}  // namespace dsar::connector

#endif  // DSAR_LIB_CONNECTOR_CONNECTOR_CLIENT_H_
