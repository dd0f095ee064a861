#include "lib/privacy_requests/request.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/core/errors.h"

namespace dsar::privacy_requests {

const char* RequestTypeName(RequestType type) {
  switch (type) {
    case RequestType::kAccess:
      return "ACCESS";
    case RequestType::kPortability:
      return "PORTABILITY";
    case RequestType::kErasure:
      return "ERASURE";
    case RequestType::kUnspecified:
      break;
  }
  return "UNSPECIFIED";
}

const char* RequestStateName(RequestState state) {
  switch (state) {
    case RequestState::kReceived:
      return "RECEIVED";
    case RequestState::kVerified:
      return "VERIFIED";
    case RequestState::kInProgress:
      return "IN_PROGRESS";
    case RequestState::kCompleted:
      return "COMPLETED";
    case RequestState::kRejected:
      return "REJECTED";
    case RequestState::kCancelled:
      return "CANCELLED";
    case RequestState::kFailed:
      return "FAILED";
    case RequestState::kUnspecified:
      break;
  }
  return "UNSPECIFIED";
}

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kNone:
      return "";
    case Stage::kCollecting:
      return "collecting";
    case Stage::kAssembling:
      return "assembling";
    case Stage::kErasing:
      return "erasing";
    case Stage::kErased:
      return "erased";
    case Stage::kVerifying:
      return "verifying";
    case Stage::kVerified:
      return "verified";
  }
  return "";
}

Stage ParseStage(absl::string_view name) {
  for (Stage s : {Stage::kCollecting, Stage::kAssembling, Stage::kErasing, Stage::kErased,
                  Stage::kVerifying, Stage::kVerified}) {
    if (name == StageName(s)) return s;
  }
  return Stage::kNone;
}

const char* TaskPhaseName(TaskPhase phase) {
  switch (phase) {
    case TaskPhase::kExport:
      return "export";
    case TaskPhase::kErase:
      return "erase";
    case TaskPhase::kVerify:
      return "verify";
    case TaskPhase::kUnspecified:
      break;
  }
  return "";
}

TaskPhase ParseTaskPhase(absl::string_view name) {
  for (TaskPhase p : {TaskPhase::kExport, TaskPhase::kErase, TaskPhase::kVerify}) {
    if (name == TaskPhaseName(p)) return p;
  }
  return TaskPhase::kUnspecified;
}

bool IsOpen(RequestState state) {
  return state == RequestState::kReceived || state == RequestState::kVerified ||
         state == RequestState::kInProgress || state == RequestState::kFailed;
}

bool TransitionAllowed(RequestState from, RequestState to) {
  using S = RequestState;
  switch (from) {
    case S::kReceived:
      return to == S::kVerified || to == S::kRejected || to == S::kCancelled;
    case S::kVerified:
      return to == S::kInProgress || to == S::kRejected || to == S::kCancelled;
    case S::kInProgress:
      return to == S::kCompleted || to == S::kFailed || to == S::kCancelled;
    case S::kFailed:
      return to == S::kInProgress || to == S::kCancelled;
    case S::kCompleted:
    case S::kRejected:
    case S::kCancelled:
    case S::kUnspecified:
      return false;
  }
  return false;
}

absl::Status CheckTransition(absl::string_view request_name, RequestState from, RequestState to,
                             absl::string_view action) {
  if (TransitionAllowed(from, to)) return absl::OkStatus();
  std::string needs;
  for (RequestState s : {RequestState::kReceived, RequestState::kVerified,
                         RequestState::kInProgress, RequestState::kFailed}) {
    if (TransitionAllowed(s, to))
      absl::StrAppend(&needs, needs.empty() ? "" : " or ", RequestStateName(s));
  }
  return FailedPreconditionWithViolations(
      absl::StrCat("request is ", RequestStateName(from), "; ", action, " is not allowed"),
      {{"STATE", std::string(request_name),
        absl::StrCat(action, " needs a request in state ", needs.empty() ? "(none)" : needs,
                     "; it is ", RequestStateName(from))}});
}

std::string RequestName(absl::string_view id) {
  return absl::StrCat(kPrivacyRequestsCollection, id);
}

absl::StatusOr<std::string> ParseRequestName(absl::string_view name) {
  if (!absl::StartsWith(name, kPrivacyRequestsCollection) ||
      name.size() == kPrivacyRequestsCollection.size() || name.size() > 128) {
    return InvalidField("name", "must be privacyRequests/{id}");
  }
  absl::string_view id = name.substr(kPrivacyRequestsCollection.size());
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return InvalidField("name", "must be privacyRequests/{id}");
  }
  return std::string(id);
}

}  // namespace dsar::privacy_requests
