#include "services/audit_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/audit/audit_log.h"
#include "lib/core/errors.h"
#include "services/call_gate.h"
#include "services/grpc_status.h"
#include "services/proto_time.h"

namespace dsar {

constexpr char kListAuditEvents[] = "/dsar.v1.AuditService/ListAuditEvents";
constexpr char kVerifyAuditLog[] = "/dsar.v1.AuditService/VerifyAuditLog";

grpc::ServerUnaryReactor* AuditServiceImpl::ListAuditEvents(
    grpc::CallbackServerContext* context, const v1::ListAuditEventsRequest* request,
    v1::ListAuditEventsResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kListAuditEvents);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kListAuditEvents, "", &call)) {
    return reactor;
  }
  audit::ListOptions options;
  options.tenant = call.ctx.tenant;
  options.page_size = request->page_size() == 0 ? 100 : request->page_size();
  FieldErrors errors;
  if (options.page_size < 1 || options.page_size > 1000) {
    errors.Add("page_size", "must be between 0 and 1000");
  }
  // The token is the last sequence number returned: later events only append.
  if (!request->page_token().empty() &&
      (!absl::SimpleAtoi(request->page_token(), &options.after_seq) || options.after_seq < 0)) {
    errors.Add("page_token", "not a token returned by ListAuditEvents");
  }
  if (!errors.empty()) {
    reactor->Finish(ToGrpcStatus(errors.ToStatus()));
    return reactor;
  }
  auto events = audit::List(*store_, options);
  if (!events.ok()) {
    reactor->Finish(ToGrpcStatus(events.status()));
    return reactor;
  }
  for (const auto& e : *events) {
    auto* out = response->add_events();
    out->set_seq(e.seq);
    out->set_tenant(e.tenant);
    SetTimestamp(e.time, out->mutable_event_time());
    out->set_principal(e.principal);
    out->set_role(e.role);
    out->set_method(e.method);
    out->set_resource(e.resource);
    out->set_outcome(e.outcome);
    out->set_request_id(e.request_id);
    out->set_hash(e.hash);
  }
  if (static_cast<int>(events->size()) == options.page_size) {
    response->set_next_page_token(absl::StrCat(events->back().seq));
  }
  call.slot.reset();  // free the call's place before answering
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AuditServiceImpl::VerifyAuditLog(grpc::CallbackServerContext* context,
                                                           const v1::VerifyAuditLogRequest* request,
                                                           v1::VerifyAuditLogResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kVerifyAuditLog);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kVerifyAuditLog, "", &call)) {
    return reactor;
  }
  auto result = audit::Verify(*store_);
  if (!result.ok()) {
    reactor->Finish(ToGrpcStatus(result.status()));
    return reactor;
  }
  response->set_intact(result->ok);
  response->set_rows_checked(result->rows_checked);
  response->set_first_bad_seq(result->first_bad_seq);
  response->set_reason(result->reason);
  response->set_head_hash(result->head_hash);
  call.slot.reset();  // free the call's place before answering
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace dsar
