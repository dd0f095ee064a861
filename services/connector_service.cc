#include "services/connector_service.h"

#include "lib/connector/connector_admin.h"
#include "services/enum_conversions.h"
#include "services/grpc_status.h"
#include "services/proto_time.h"

namespace dsar {
namespace {

using ::dsar::ToProto;  // services/enum_conversions.h

using connector::TaskKind;
using connector::TaskState;

constexpr char kListConnectors[] = "/dsar.v1.ConnectorService/ListConnectors";
constexpr char kGetHealth[] = "/dsar.v1.ConnectorService/GetConnectorHealth";
constexpr char kListTasks[] = "/dsar.v1.ConnectorService/ListTasks";
constexpr char kRetryTask[] = "/dsar.v1.ConnectorService/RetryTask";

v1::ConnectorTaskKind ToProto(TaskKind k) {
  switch (k) {
    case TaskKind::kConsentApply:
      return v1::CONNECTOR_TASK_KIND_CONSENT_APPLY;
    case TaskKind::kSubjectExport:
      return v1::CONNECTOR_TASK_KIND_SUBJECT_EXPORT;
    case TaskKind::kSubjectErase:
      return v1::CONNECTOR_TASK_KIND_SUBJECT_ERASE;
  }
  return v1::CONNECTOR_TASK_KIND_UNSPECIFIED;
}

std::optional<TaskState> FromProto(v1::ConnectorTaskState s) {
  switch (s) {
    case v1::CONNECTOR_TASK_STATE_PENDING:
      return TaskState::kPending;
    case v1::CONNECTOR_TASK_STATE_RUNNING:
      return TaskState::kRunning;
    case v1::CONNECTOR_TASK_STATE_DONE:
      return TaskState::kDone;
    case v1::CONNECTOR_TASK_STATE_SKIPPED:
      return TaskState::kSkipped;
    case v1::CONNECTOR_TASK_STATE_WAITING:
      return TaskState::kWaiting;
    case v1::CONNECTOR_TASK_STATE_FAILED:
      return TaskState::kFailed;
    case v1::CONNECTOR_TASK_STATE_DEAD:
      return TaskState::kDead;
    case v1::CONNECTOR_TASK_STATE_NO_MATCHING_RECORD:
      return TaskState::kNoMatch;
    default:
      return std::nullopt;
  }
}

v1::CircuitBreakerState ToProto(delivery::CircuitBreaker::State s) {
  switch (s) {
    case delivery::CircuitBreaker::State::kClosed:
      return v1::CIRCUIT_BREAKER_STATE_CLOSED;
    case delivery::CircuitBreaker::State::kOpen:
      return v1::CIRCUIT_BREAKER_STATE_OPEN;
    case delivery::CircuitBreaker::State::kHalfOpen:
      return v1::CIRCUIT_BREAKER_STATE_HALF_OPEN;
  }
  return v1::CIRCUIT_BREAKER_STATE_UNSPECIFIED;
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  if (t != absl::InfinitePast() && t != absl::InfiniteFuture()) SetTimestamp(t, out);
}

void ToProto(const connector::TaskInfo& t, v1::ConnectorTask* out) {
  out->set_task_id(t.task_id);
  out->set_tenant(t.tenant);
  out->set_kind(ToProto(t.kind));
  out->set_connector(t.connector);
  out->set_resource(t.resource);
  out->set_state(ToProto(t.state));
  out->set_attempts(t.attempts);
  if (t.next_attempt != absl::InfiniteFuture()) {
    SetTimestamp(t.next_attempt, out->mutable_next_attempt_time());
  }
  out->set_last_error(t.last_error);
  out->set_deleted_count(t.result.deleted);
  out->set_anonymised_count(t.result.anonymised);
  for (const auto& k : t.result.kept) {
    auto* kept = out->add_kept_records();
    kept->set_record_id(k.record_id);
    kept->set_category(k.category);
    kept->set_reason(k.reason);
    kept->set_detail(k.detail);
  }
  out->set_affected_count(t.result.affected);
  out->set_record_count(t.result.records);
  out->set_replayed(t.result.replayed);
  out->set_skip_reason(t.result.skip_reason);
  SetTimestamp(t.created, out->mutable_create_time());
  SetTimestamp(t.updated, out->mutable_update_time());
}

}  // namespace

grpc::ServerUnaryReactor* ConnectorServiceImpl::ListConnectors(
    grpc::CallbackServerContext* context, const v1::ListConnectorsRequest*,
    v1::ListConnectorsResponse* response) {
  MeteredReactor* reactor = start_(kListConnectors);
  auto call = admit_(context, kListConnectors, "");
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return reactor;
  }
  for (const connector::ConnectorInfo* c : admin_->ListConnectors(call->ctx)) {
    v1::Connector* out = response->add_connectors();
    out->set_name(c->name);
    out->set_display_name(c->display_name);
    out->set_address(c->endpoint.address);
    out->set_tls(c->endpoint.tls);
    out->set_tenant(c->tenant);
    for (const auto& p : c->purposes) out->add_purposes(p);
    for (const auto& cat : c->categories) out->add_categories(cat);
    out->set_country(c->country);
    out->set_processor(c->processor);
    for (const auto& sp : c->sub_processors) {
      auto* s = out->add_sub_processors();
      s->set_name(sp.name);
      s->set_country(sp.country);
      s->set_service(sp.service);
    }
    for (TaskKind k : c->kinds) out->add_task_kinds(ToProto(k));
    out->set_call_timeout_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(c->call_timeout)));
    out->set_max_attempts(c->backoff.max_attempts);
    out->set_max_concurrency(c->max_concurrency);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ConnectorServiceImpl::GetConnectorHealth(
    grpc::CallbackServerContext* context, const v1::GetConnectorHealthRequest* request,
    v1::GetConnectorHealthResponse* response) {
  MeteredReactor* reactor = start_(kGetHealth);
  auto call = admit_(context, kGetHealth, "");
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return reactor;
  }
  auto h = admin_->GetHealth(call->ctx, request->name());
  if (!h.ok()) {
    reactor->Finish(ToGrpcStatus(h.status()));
    return reactor;
  }
  response->set_name(h->name);
  response->set_reachable(h->reachable);
  SetTime(h->last_probe, response->mutable_last_probe_time());
  if (!h->probed) response->clear_last_probe_time();
  response->set_probe_error(h->probe_error);
  response->set_system(h->description.system);
  response->set_version(h->description.version);
  response->set_breaker_state(ToProto(h->breaker));
  SetTime(h->breaker_open_until, response->mutable_breaker_open_until());
  if (h->breaker_open_until == absl::InfinitePast()) response->clear_breaker_open_until();
  response->set_breaker_open_count(h->breaker_opened);
  if (h->last_success != absl::InfinitePast()) {
    SetTimestamp(h->last_success, response->mutable_last_success_time());
  }
  if (h->last_failure != absl::InfinitePast()) {
    SetTimestamp(h->last_failure, response->mutable_last_failure_time());
  }
  response->set_last_error(h->last_error);
  response->set_error_rate(h->error_rate);
  response->set_window_calls(h->window_calls);
  response->set_in_flight(h->in_flight);
  response->set_calls(h->calls);
  response->set_failures(h->failures);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ConnectorServiceImpl::ListTasks(grpc::CallbackServerContext* context,
                                                          const v1::ListTasksRequest* request,
                                                          v1::ListTasksResponse* response) {
  MeteredReactor* reactor = start_(kListTasks);
  auto call = admit_(context, kListTasks, "");
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return reactor;
  }
  connector::task_store::ListQuery query;
  for (int s : request->states()) {
    auto state = FromProto(static_cast<v1::ConnectorTaskState>(s));
    if (state) query.states.push_back(*state);
  }
  query.connector = request->connector();
  query.resource = request->resource();
  query.page_size = request->page_size();
  query.page_token = request->page_token();
  auto page = admin_->ListTasks(call->ctx, std::move(query));
  if (!page.ok()) {
    reactor->Finish(ToGrpcStatus(page.status()));
    return reactor;
  }
  for (const auto& t : page->tasks) ToProto(t, response->add_tasks());
  response->set_next_page_token(page->next_page_token);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ConnectorServiceImpl::RetryTask(grpc::CallbackServerContext* context,
                                                          const v1::RetryTaskRequest* request,
                                                          v1::RetryTaskResponse* response) {
  MeteredReactor* reactor = start_(kRetryTask);
  auto call = admit_(context, kRetryTask, request->request_id());
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return reactor;
  }
  admin_->RetryTask(
      call->ctx, request->task_id(),
      [reactor, response, hold = call->hold](absl::StatusOr<connector::TaskInfo> task) {
        if (!task.ok()) {
          reactor->Finish(ToGrpcStatus(task.status()));
          return;
        }
        ToProto(*task, response->mutable_task());
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

}  // namespace dsar
