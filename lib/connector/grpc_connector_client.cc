#include "lib/connector/grpc_connector_client.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "dsar/connector/v1/connector.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace dsar::connector {
namespace {

namespace pb = ::dsar::connector::v1;
using google::protobuf::util::TimeUtil;

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat(path, ": cannot read ", what));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

pb::IdentifierType ToProto(IdentifierType t) {
  switch (t) {
    case IdentifierType::kEmail:
      return pb::IDENTIFIER_TYPE_EMAIL;
    case IdentifierType::kCustomerId:
      return pb::IDENTIFIER_TYPE_CUSTOMER_ID;
    case IdentifierType::kPhone:
      return pb::IDENTIFIER_TYPE_PHONE;
  }
  return pb::IDENTIFIER_TYPE_UNSPECIFIED;
}

void ToProto(const std::vector<SubjectIdentifier>& subject, pb::SubjectIdentity* out) {
  for (const auto& id : subject) {
    auto* p = out->add_identifiers();
    p->set_type(ToProto(id.type));
    p->set_value(id.value);
  }
}

std::vector<SubjectIdentifier> FromProtoIds(
    const google::protobuf::RepeatedPtrField<pb::SubjectIdentifier>& ids) {
  std::vector<SubjectIdentifier> out;
  for (const auto& id : ids) {
    switch (id.type()) {
      case pb::IDENTIFIER_TYPE_EMAIL:
        out.push_back({IdentifierType::kEmail, id.value()});
        break;
      case pb::IDENTIFIER_TYPE_CUSTOMER_ID:
        out.push_back({IdentifierType::kCustomerId, id.value()});
        break;
      case pb::IDENTIFIER_TYPE_PHONE:
        out.push_back({IdentifierType::kPhone, id.value()});
        break;
      default:
        break;
    }
  }
  return out;
}

std::vector<SubjectIdentifier> FromProto(const pb::SubjectIdentity& subject) {
  return FromProtoIds(subject.identifiers());
}

std::string KeepReasonName(pb::KeepReason r) {
  switch (r) {
    case pb::KEEP_REASON_LEGAL_HOLD:
      return "legal_hold";
    case pb::KEEP_REASON_LEGAL_OBLIGATION:
      return "legal_obligation";
    case pb::KEEP_REASON_LEGAL_CLAIMS:
      return "legal_claims";
    default:
      return "unspecified";
  }
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

class GrpcConnectorClient final : public ConnectorClient {
 public:
  GrpcConnectorClient(std::shared_ptr<grpc::Channel> channel, std::string bearer_token)
      : stub_(pb::DataSourceConnector::NewStub(channel)), token_(std::move(bearer_token)) {}

  void CancelAll() override {
    absl::MutexLock lock(&mu_);
    for (grpc::ClientContext* ctx : live_) ctx->TryCancel();
  }

  absl::StatusOr<Description> Describe(absl::Duration timeout) override {
    grpc::ClientContext ctx;
    Prepare(ctx, timeout);
    Live live(this, &ctx);
    pb::DescribeResponse r;
    grpc::Status s = stub_->Describe(&ctx, pb::DescribeRequest(), &r);
    if (!s.ok()) return FromGrpc(s);
    Description d;
    d.system = r.system();
    d.display_name = r.display_name();
    for (const auto& c : r.categories()) d.categories.push_back(c.name());
    d.purposes.assign(r.purposes().begin(), r.purposes().end());
    d.country = r.country();
    d.processor = r.processor();
    for (const auto& sp : r.sub_processors()) {
      d.sub_processors.push_back({sp.name(), sp.country(), sp.service()});
    }
    d.version = r.version();
    return d;
  }

  absl::Status Export(const SubjectCall& call, absl::Duration timeout,
                      absl::FunctionRef<absl::Status(ExportedRecord)> on_record,
                      std::vector<SubjectIdentifier>* resolved) override {
    grpc::ClientContext ctx;
    Prepare(ctx, timeout);
    Live live(this, &ctx);
    pb::ExportSubjectDataRequest request;
    request.set_task_id(call.task_id);
    request.set_tenant(call.tenant);
    ToProto(call.subject, request.mutable_subject());
    auto reader = stub_->ExportSubjectData(&ctx, request);
    pb::ExportSubjectDataResponse batch;
    absl::Status sink_error;
    while (sink_error.ok() && reader->Read(&batch)) {
      if (resolved != nullptr && batch.resolved_identifiers_size() > 0) {
        std::vector<SubjectIdentifier> ids = FromProtoIds(batch.resolved_identifiers());
        resolved->insert(resolved->end(), ids.begin(), ids.end());
      }
      for (auto& r : *batch.mutable_records()) {
        ExportedRecord out;
        out.record_id = std::move(*r.mutable_record_id());
        out.system = std::move(*r.mutable_system());
        out.category = std::move(*r.mutable_category());
        if (r.has_structured()) {
          google::protobuf::util::MessageToJsonString(r.structured(), &out.json);
        } else {
          out.json = std::move(*r.mutable_json());
        }
        if (r.has_create_time()) out.create_time = FromTimestamp(r.create_time());
        sink_error = on_record(std::move(out));
        if (!sink_error.ok()) break;
      }
    }
    if (!sink_error.ok()) {
      ctx.TryCancel();
      (void)reader->Finish();
      return sink_error;
    }
    return FromGrpc(reader->Finish());
  }

  absl::StatusOr<EraseOutcome> Erase(const SubjectCall& call, absl::Duration timeout) override {
    grpc::ClientContext ctx;
    Prepare(ctx, timeout);
    Live live(this, &ctx);
    pb::EraseSubjectDataRequest request;
    request.set_task_id(call.task_id);
    request.set_tenant(call.tenant);
    ToProto(call.subject, request.mutable_subject());
    pb::EraseSubjectDataResponse r;
    grpc::Status s = stub_->EraseSubjectData(&ctx, request, &r);
    if (!s.ok()) return FromGrpc(s);
    EraseOutcome out;
    out.in_progress = r.state() == pb::OPERATION_STATE_IN_PROGRESS;
    out.deleted = r.deleted_count();
    out.anonymised = r.anonymised_count();
    out.replayed = r.replayed();
    for (const auto& k : r.kept_records()) {
      out.kept.push_back({k.record_id(), k.category(), KeepReasonName(k.reason()), k.detail()});
    }
    out.resolved = FromProtoIds(r.resolved_identifiers());
    return out;
  }

  absl::StatusOr<ConsentOutcome> ApplyConsentChange(const ConsentCall& call,
                                                    absl::Duration timeout) override {
    grpc::ClientContext ctx;
    Prepare(ctx, timeout);
    Live live(this, &ctx);
    pb::ApplyConsentChangeRequest request;
    request.set_task_id(call.target.task_id);
    request.set_tenant(call.target.tenant);
    ToProto(call.target.subject, request.mutable_subject());
    request.set_purpose(call.purpose);
    request.set_action(call.given ? pb::CONSENT_ACTION_GIVEN : pb::CONSENT_ACTION_WITHDRAWN);
    *request.mutable_change_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(call.change_time));
    pb::ApplyConsentChangeResponse r;
    grpc::Status s = stub_->ApplyConsentChange(&ctx, request, &r);
    if (!s.ok()) return FromGrpc(s);
    ConsentOutcome out;
    out.in_progress = r.state() == pb::OPERATION_STATE_IN_PROGRESS;
    out.affected = r.affected_count();
    out.replayed = r.replayed();
    out.no_match = r.no_matching_record();
    return out;
  }

  absl::StatusOr<EndedRelationshipsPage> ListEndedRelationships(absl::string_view tenant,
                                                                absl::Time ended_before,
                                                                int page_size,
                                                                absl::string_view page_token,
                                                                absl::Duration timeout) override {
    grpc::ClientContext ctx;
    Prepare(ctx, timeout);
    Live live(this, &ctx);
    pb::ListEndedRelationshipsRequest request;
    request.set_tenant(std::string(tenant));
    *request.mutable_end_time_before() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(ended_before));
    request.set_page_size(page_size);
    request.set_page_token(std::string(page_token));
    pb::ListEndedRelationshipsResponse r;
    grpc::Status s = stub_->ListEndedRelationships(&ctx, request, &r);
    if (!s.ok()) return FromGrpc(s);
    EndedRelationshipsPage page;
    for (const auto& rel : r.relationships()) {
      page.relationships.push_back({FromProto(rel.subject()), FromTimestamp(rel.end_time())});
    }
    page.next_page_token = r.next_page_token();
    return page;
  }

 private:
  // Registers a call's context for CancelAll() while it is in flight.
  class Live {
   public:
    Live(GrpcConnectorClient* client, grpc::ClientContext* ctx) : client_(client), ctx_(ctx) {
      absl::MutexLock lock(&client_->mu_);
      client_->live_.insert(ctx_);
    }
    ~Live() {
      absl::MutexLock lock(&client_->mu_);
      client_->live_.erase(ctx_);
    }

   private:
    GrpcConnectorClient* client_;
    grpc::ClientContext* ctx_;
  };

  void Prepare(grpc::ClientContext& ctx, absl::Duration timeout) const {
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    // Wait (within the deadline) for a connection instead of failing at once
    // while the channel is between reconnect attempts: a backend that just
    // came back must not burn a task's attempts on stale channel state.
    ctx.set_wait_for_ready(true);
    if (!token_.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  }

  std::unique_ptr<pb::DataSourceConnector::Stub> stub_;
  const std::string token_;
  absl::Mutex mu_;
  absl::flat_hash_set<grpc::ClientContext*> live_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<ConnectorClient>> NewGrpcConnectorClient(
    const GrpcEndpoint& endpoint) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (endpoint.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!endpoint.ca_file.empty()) {
      auto ca = ReadFile(endpoint.ca_file, "CA bundle");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    if (!endpoint.cert_file.empty()) {
      auto cert = ReadFile(endpoint.cert_file, "client certificate");
      if (!cert.ok()) return cert.status();
      auto key = ReadFile(endpoint.key_file, "client key");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  std::string token;
  if (!endpoint.bearer_token_file.empty()) {
    auto t = ReadFile(endpoint.bearer_token_file, "bearer token");
    if (!t.ok()) return t.status();
    token = std::string(absl::StripAsciiWhitespace(*t));
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(endpoint.max_message_bytes);
  args.SetMaxSendMessageSize(endpoint.max_message_bytes);
  // A backend that comes back is reachable again within about a second,
  // rather than after gRPC's default reconnect backoff of up to two minutes;
  // dsard's own retry policy paces the calls.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Several channels to one backend must not be merged into one connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (endpoint.tls && !endpoint.server_name.empty()) {
    args.SetSslTargetNameOverride(endpoint.server_name);
  }
  auto channel = grpc::CreateCustomChannel(endpoint.address, creds, args);
  return std::unique_ptr<ConnectorClient>(new GrpcConnectorClient(channel, std::move(token)));
}

}  // namespace dsar::connector
