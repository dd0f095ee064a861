#include "lib/core/call_context.h"

namespace dsar {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kService:
      return "service";
    case Role::kDpo:
      return "dpo";
    case Role::kConnector:
      return "connector";
    case Role::kAuditor:
      return "auditor";
    case Role::kAdmin:
      return "admin";
    case Role::kUnspecified:
      break;
  }
  return "unspecified";
}

}  // namespace dsar
