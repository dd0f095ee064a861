// CallContext: who is calling, for which tenant, under which idempotency key.
//
// Built once per RPC by the transport (services/) after authentication and
// passed to every domain call, so tenant isolation and idempotency are never an
// afterthought: domain code scopes every query by `tenant` and stores results of
// mutations under `idempotency_key` (the API's `request_id`). Holds no
// personal data.
#ifndef DSAR_LIB_CORE_CALL_CONTEXT_H_
#define DSAR_LIB_CORE_CALL_CONTEXT_H_

#include <string>

#include "lib/core/idempotency_key.h"

namespace dsar {

// Roles a principal can hold (see docs/access-control.md once it exists).
enum class Role { kUnspecified, kService, kDpo, kConnector, kAuditor, kAdmin };

struct CallContext {
  std::string principal;  // stable principal name, e.g. "svc-booking"
  Role role = Role::kUnspecified;
  std::string tenant;              // tenant (controller) the call acts for
  IdempotencyKey idempotency_key;  // the caller's request_id; empty for reads
  std::string method;              // full gRPC method name, for audit events
  // The principal serves every tenant (configured with tenant "*") and named
  // `tenant` for this call; modules whose resources span tenants (breaches)
  // scope by it instead of `tenant` alone.
  bool all_tenants = false;
};

const char* RoleName(Role role);

}  // namespace dsar

#endif  // DSAR_LIB_CORE_CALL_CONTEXT_H_
