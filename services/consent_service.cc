#include "services/consent_service.h"

#include "lib/consent/consent_ledger.h"
#include "lib/consent/kantara_receipt.h"
#include "lib/consent/purpose_catalog.h"
#include "services/call_gate.h"
#include "services/enum_conversions.h"
#include "services/grpc_status.h"
#include "services/proto_time.h"
#include "services/subject_proto.h"

namespace dsar {
namespace {

using ::dsar::FromProto;  // services/enum_conversions.h
using ::dsar::ToProto;    // services/enum_conversions.h

using consent::ConsentReceipt;

constexpr char kRecord[] = "/dsar.v1.ConsentService/RecordConsent";
constexpr char kWithdraw[] = "/dsar.v1.ConsentService/WithdrawConsent";
constexpr char kCheck[] = "/dsar.v1.ConsentService/CheckConsent";
constexpr char kList[] = "/dsar.v1.ConsentService/ListConsentEvents";
constexpr char kGet[] = "/dsar.v1.ConsentService/GetConsentReceipt";

void ToProto(const ConsentReceipt& r, v1::ConsentReceipt* out) {
  out->set_receipt_id(r.receipt_id);
  out->set_tenant(r.tenant);
  out->set_subject_pseudonym(r.subject_pseudonym);
  out->set_purpose(r.purpose);
  out->set_notice_version(r.notice_version);
  out->set_language(r.language);
  out->set_lawful_basis(ToProto(r.lawful_basis));
  out->set_channel(r.channel);
  out->set_actor(r.actor);
  SetTimestamp(r.given_at, out->mutable_give_time());
  SetTimestamp(r.recorded_at, out->mutable_record_time());
  if (r.withdrawn_at) SetTimestamp(*r.withdrawn_at, out->mutable_withdraw_time());
  out->set_state(r.withdrawn_at ? v1::CONSENT_STATE_WITHDRAWN : v1::CONSENT_STATE_GRANTED);
  out->set_withdrawal_channel(r.withdrawal_channel);
  for (const consent::Propagation& p : r.propagation) {
    auto* prop = out->add_propagation();
    prop->set_connector(p.connector);
    prop->set_action(ToProto(p.action));
    prop->set_state(
        ToProto(connector::ParseTaskState(p.state).value_or(connector::TaskState::kPending)));
    prop->set_task_id(p.task_id);
    SetTimestamp(p.updated, prop->mutable_update_time());
  }
}

}  // namespace

grpc::ServerUnaryReactor* ConsentServiceImpl::RecordConsent(grpc::CallbackServerContext* context,
                                                            const v1::RecordConsentRequest* request,
                                                            v1::RecordConsentResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kRecord);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kRecord, *request, request->request_id(), &call))
    return reactor;
  consent::RecordConsentInput in;
  in.subject = FromProto(request->subject());
  in.purpose = request->purpose();
  in.notice_version = request->notice_version();
  in.language = request->language();
  in.lawful_basis = FromProto(request->lawful_basis());
  in.channel = request->channel();
  if (request->has_give_time()) in.given_at = FromTimestamp(request->give_time());
  ledger_->Record(call.ctx, std::move(in),
                  [reactor, response,
                   slot = std::move(call.slot)](absl::StatusOr<ConsentReceipt> receipt) mutable {
                    slot.reset();  // the call is done: free its place before answering
                    if (!receipt.ok()) {
                      reactor->Finish(ToGrpcStatus(receipt.status()));
                      return;
                    }
                    ToProto(*receipt, response->mutable_receipt());
                    reactor->Finish(grpc::Status::OK);
                  });
  return reactor;
}

grpc::ServerUnaryReactor* ConsentServiceImpl::WithdrawConsent(
    grpc::CallbackServerContext* context, const v1::WithdrawConsentRequest* request,
    v1::WithdrawConsentResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kWithdraw);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kWithdraw, *request, request->request_id(), &call))
    return reactor;
  consent::WithdrawConsentInput in;
  in.subject = FromProto(request->subject());
  in.purpose = request->purpose();
  in.channel = request->channel();
  in.reason = request->reason();
  ledger_->Withdraw(call.ctx, std::move(in),
                    [reactor, response,
                     slot = std::move(call.slot)](absl::StatusOr<ConsentReceipt> receipt) mutable {
                      slot.reset();  // the call is done: free its place before answering
                      if (!receipt.ok()) {
                        reactor->Finish(ToGrpcStatus(receipt.status()));
                        return;
                      }
                      ToProto(*receipt, response->mutable_receipt());
                      reactor->Finish(grpc::Status::OK);
                    });
  return reactor;
}

grpc::ServerUnaryReactor* ConsentServiceImpl::CheckConsent(grpc::CallbackServerContext* context,
                                                           const v1::CheckConsentRequest* request,
                                                           v1::CheckConsentResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kCheck);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kCheck, *request, "", &call)) return reactor;
  auto check = ledger_->Check(call.ctx, FromProto(request->subject()), request->purpose());
  call.slot.reset();  // the work is done: free the call's place before answering
  if (!check.ok()) {
    reactor->Finish(ToGrpcStatus(check.status()));
    return reactor;
  }
  response->set_state(ToProto(check->state));
  response->set_receipt_id(check->receipt_id);
  response->set_notice_version(check->notice_version);
  response->set_current_notice_version(check->current_notice_version);
  response->set_reconsent_required(check->reconsent_required);
  if (check->state != consent::ConsentState::kNone) {
    SetTimestamp(check->changed_at, response->mutable_change_time());
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ConsentServiceImpl::ListConsentEvents(
    grpc::CallbackServerContext* context, const v1::ListConsentEventsRequest* request,
    v1::ListConsentEventsResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kList);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kList, *request, "", &call)) return reactor;
  consent::ListEventsInput in;
  in.subject = FromProto(request->subject());
  in.purpose = request->purpose();
  in.page_size = request->page_size();
  in.page_token = request->page_token();
  ledger_->ListEvents(call.ctx, std::move(in),
                      [reactor, response, slot = std::move(call.slot)](
                          absl::StatusOr<consent::EventPage> page) mutable {
                        slot.reset();  // free the call's place before answering
                        if (!page.ok()) {
                          reactor->Finish(ToGrpcStatus(page.status()));
                          return;
                        }
                        for (const auto& e : page->events) {
                          auto* out = response->add_events();
                          out->set_event_id(e.event_id);
                          out->set_receipt_id(e.receipt_id);
                          out->set_purpose(e.purpose);
                          out->set_action(ToProto(e.action));
                          out->set_notice_version(e.notice_version);
                          out->set_language(e.language);
                          out->set_lawful_basis(ToProto(e.lawful_basis));
                          out->set_channel(e.channel);
                          out->set_actor(e.actor);
                          out->set_reason(e.reason);
                          SetTimestamp(e.occurred_at, out->mutable_occur_time());
                          SetTimestamp(e.recorded_at, out->mutable_record_time());
                        }
                        response->set_next_page_token(page->next_page_token);
                        reactor->Finish(grpc::Status::OK);
                      });
  return reactor;
}

grpc::ServerUnaryReactor* ConsentServiceImpl::GetConsentReceipt(
    grpc::CallbackServerContext* context, const v1::GetConsentReceiptRequest* request,
    v1::GetConsentReceiptResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kGet);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kGet, *request, "", &call)) return reactor;
  const consent::PurposeCatalog* catalog = catalog_;
  ledger_->GetReceipt(call.ctx, request->receipt_id(),
                      [reactor, response, catalog, slot = std::move(call.slot)](
                          absl::StatusOr<ConsentReceipt> receipt) mutable {
                        slot.reset();  // the call is done: free its place before answering
                        if (!receipt.ok()) {
                          reactor->Finish(ToGrpcStatus(receipt.status()));
                          return;
                        }
                        ToProto(*receipt, response->mutable_receipt());
                        response->set_kantara_json(consent::KantaraReceiptJson(
                            *receipt, catalog->FindTenant(receipt->tenant),
                            catalog->FindPurpose(receipt->tenant, receipt->purpose)));
                        reactor->Finish(grpc::Status::OK);
                      });
  return reactor;
}

}  // namespace dsar
