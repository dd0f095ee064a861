// AdminServiceImpl: the gRPC adapter for dsar.v1.AdminService (backups) over
// ops::BackupManager. A backup runs on the manager's thread; the handler
// returns at once and the call is finished when the backup is.
#ifndef DSAR_SERVICES_ADMIN_SERVICE_H_
#define DSAR_SERVICES_ADMIN_SERVICE_H_

#include "dsar/v1/admin.grpc.pb.h"

namespace dsar {

class CallGate;
namespace ops {
class BackupManager;
}

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  // Neither is owned; both must outlive the server.
  AdminServiceImpl(CallGate* gate, ops::BackupManager* backups) : gate_(gate), backups_(backups) {}

  grpc::ServerUnaryReactor* CreateBackup(grpc::CallbackServerContext* context,
                                         const v1::CreateBackupRequest* request,
                                         v1::CreateBackupResponse* response) override;
  grpc::ServerUnaryReactor* ListBackups(grpc::CallbackServerContext* context,
                                        const v1::ListBackupsRequest* request,
                                        v1::ListBackupsResponse* response) override;

 private:
  CallGate* gate_;
  ops::BackupManager* backups_;
};

}  // namespace dsar

#endif  // DSAR_SERVICES_ADMIN_SERVICE_H_
