// connector::TaskState as dsar.v1.ConnectorTaskState, for the adapters.
#ifndef DSAR_SERVICES_TASK_STATE_PROTO_H_
#define DSAR_SERVICES_TASK_STATE_PROTO_H_

#include "dsar/v1/connector_admin.pb.h"
#include "lib/connector/task.h"

namespace dsar {

inline v1::ConnectorTaskState ToProto(connector::TaskState s) {
  switch (s) {
    case connector::TaskState::kPending:
      return v1::CONNECTOR_TASK_STATE_PENDING;
    case connector::TaskState::kRunning:
      return v1::CONNECTOR_TASK_STATE_RUNNING;
    case connector::TaskState::kDone:
      return v1::CONNECTOR_TASK_STATE_DONE;
    case connector::TaskState::kSkipped:
      return v1::CONNECTOR_TASK_STATE_SKIPPED;
    case connector::TaskState::kWaiting:
      return v1::CONNECTOR_TASK_STATE_WAITING;
    case connector::TaskState::kFailed:
      return v1::CONNECTOR_TASK_STATE_FAILED;
    case connector::TaskState::kDead:
      return v1::CONNECTOR_TASK_STATE_DEAD;
    case connector::TaskState::kNoMatch:
      return v1::CONNECTOR_TASK_STATE_NO_MATCHING_RECORD;
  }
  return v1::CONNECTOR_TASK_STATE_UNSPECIFIED;
}

}  // namespace dsar

#endif  // DSAR_SERVICES_TASK_STATE_PROTO_H_
