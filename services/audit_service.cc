#include "services/audit_service.h"

#include "lib/audit/audit_log.h"
#include "lib/audit/chain_verifier.h"
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
  if (!gate_->AdmitOrFinish(context, reactor, kListAuditEvents, *request, "", &call)) {
    return reactor;
  }
  // Refusals of callers who did not authenticate name no tenant: only
  // principals of all tenants see them.
  auto page = audit::ListPage(*store_, call.ctx.tenant, request->page_size(), request->page_token(),
                              /*with_unattributed=*/call.ctx.all_tenants);
  if (!page.ok()) {
    reactor->Finish(ToGrpcStatus(page.status()));
    return reactor;
  }
  for (const auto& e : page->events) {
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
    out->set_peer(e.peer);
    out->set_count(e.count);
    out->set_reason(e.reason);
  }
  response->set_next_page_token(page->next_page_token);
  call.slot.reset();  // free the call's place before answering
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AuditServiceImpl::VerifyAuditLog(grpc::CallbackServerContext* context,
                                                           const v1::VerifyAuditLogRequest* request,
                                                           v1::VerifyAuditLogResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kVerifyAuditLog);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kVerifyAuditLog, *request, "", &call)) {
    return reactor;
  }
  if (request->full() && !call.ctx.all_tenants) {
    reactor->Finish(ToGrpcStatus(WithErrorInfo(
        absl::PermissionDeniedError(
            "a full verification re-hashes every tenant's rows: principals of all tenants only"),
        "FULL_VERIFICATION_NOT_ALLOWED")));
    return reactor;
  }
  // Answered from the verifier's thread; the call keeps its slot until then.
  verifier_->Verify(request->full(), [reactor, response, slot = std::move(call.slot)](
                                         absl::StatusOr<audit::VerifyResult> result) mutable {
    if (!result.ok()) {
      reactor->Finish(ToGrpcStatus(result.status()));
      return;
    }
    response->set_intact(result->ok);
    response->set_rows_checked(result->rows_checked);
    response->set_first_bad_seq(result->first_bad_seq);
    response->set_reason(result->reason);
    response->set_head_hash(result->head_hash);
    response->set_from_seq(result->from_seq);
    slot.reset();  // free the call's place before answering
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace dsar
