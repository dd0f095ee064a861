#include "services/admin_service.h"

#include "lib/core/errors.h"
#include "lib/ops/backup.h"
#include "services/call_gate.h"
#include "services/grpc_status.h"
#include "services/proto_time.h"

namespace dsar {
namespace {

constexpr char kCreateBackup[] = "/dsar.v1.AdminService/CreateBackup";
constexpr char kListBackups[] = "/dsar.v1.AdminService/ListBackups";

void ToProto(const ops::BackupInfo& in, v1::Backup* out) {
  out->set_name(in.name);
  out->set_path(in.path);
  out->set_size_bytes(in.size_bytes);
  out->set_sha256(in.sha256);
  SetTimestamp(in.create_time, out->mutable_create_time());
  const int64_t micros = absl::ToInt64Microseconds(in.duration);
  out->mutable_duration()->set_seconds(micros / 1000000);
  out->mutable_duration()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  out->set_schema_version(in.schema_version);
  out->set_audit_head_seq(in.audit_head_seq);
  out->set_audit_head_hash(in.audit_head_hash);
  out->set_trigger(in.trigger);
}

}  // namespace

grpc::ServerUnaryReactor* AdminServiceImpl::CreateBackup(grpc::CallbackServerContext* context,
                                                         const v1::CreateBackupRequest* request,
                                                         v1::CreateBackupResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kCreateBackup);
  if (request->request_id().size() > 128) {
    reactor->Finish(ToGrpcStatus(InvalidField("request_id", "at most 128 characters")));
    return reactor;
  }
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kCreateBackup, *request, request->request_id(),
                            &call)) {
    return reactor;
  }
  backups_->Create(call.ctx,
                   [reactor, response, slot = call.slot](absl::StatusOr<ops::BackupInfo> result) {
                     if (!result.ok()) {
                       reactor->Finish(ToGrpcStatus(result.status()));
                       return;
                     }
                     ToProto(*result, response->mutable_backup());
                     reactor->Finish(grpc::Status::OK);
                   });
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListBackups(grpc::CallbackServerContext* context,
                                                        const v1::ListBackupsRequest* request,
                                                        v1::ListBackupsResponse* response) {
  MeteredReactor* reactor = gate_->StartCall(kListBackups);
  AdmittedCall call;
  if (!gate_->AdmitOrFinish(context, reactor, kListBackups, *request, "", &call)) {
    return reactor;
  }
  auto backups = backups_->List();
  if (!backups.ok()) {
    reactor->Finish(ToGrpcStatus(backups.status()));
    return reactor;
  }
  for (const auto& b : *backups) ToProto(b, response->add_backups());
  response->set_directory(backups_->directory());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace dsar
