// CallGate: authenticates and authorises every dsar.v1 call.
//
// A call carries "authorization: Bearer <token>". The token's SHA-256 is looked
// up among the configured principals (tokens are never stored in clear); the
// principal's role must be allowed for the method by MethodPolicy. The result
// is the RequestContext (principal, role, tenant, method, request_id) that
// domain code receives. Errors: UNAUTHENTICATED (no or unknown token),
// PERMISSION_DENIED (role not allowed). Thread-safe (immutable).
#ifndef DSAR_SERVICES_CALL_GATE_H_
#define DSAR_SERVICES_CALL_GATE_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dsar/config/v1/config.pb.h"
#include "lib/core/request_context.h"

namespace grpc {
class ServerContextBase;
}

namespace dsar {

// Which roles may call which method. Every method of every dsar.v1 service
// must have an entry; a method without one is refused.
class MethodPolicy {
 public:
  // The built-in table (see call_gate.cc and docs/access-control.md).
  static const MethodPolicy& Default();
  bool Allows(absl::string_view method, Role role) const;
  bool HasEntry(absl::string_view method) const;

 private:
  absl::flat_hash_map<std::string, uint32_t> roles_by_method_;  // bit per Role
};

class CallGate {
 public:
  explicit CallGate(const config::v1::DsardConfig& config,
                    const MethodPolicy* policy = &MethodPolicy::Default());

  // `method` is the full gRPC method name, e.g. "/dsar.v1.ConsentService/CheckConsent".
  absl::StatusOr<RequestContext> Admit(const grpc::ServerContextBase& context,
                                       absl::string_view method,
                                       absl::string_view request_id = "") const;

  // Lower-case hex SHA-256 of a token, as stored in the config.
  static std::string TokenHash(absl::string_view token);

 private:
  struct Principal {
    std::string name;
    Role role;
    std::string tenant;
  };
  const MethodPolicy* policy_;
  absl::flat_hash_map<std::string, Principal> by_token_hash_;
};

Role ParseRole(absl::string_view name);

}  // namespace dsar

#endif  // DSAR_SERVICES_CALL_GATE_H_
