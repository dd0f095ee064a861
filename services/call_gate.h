// CallGate: authenticates, authorises and admits every dsar.v1 call.
//
// Authentication: "authorization: Bearer <token>", whose SHA-256 is looked up
// among the configured principals (tokens are never stored in clear), or, with
// mutual TLS, the client certificate's identity. Authorisation: MethodPolicy,
// one table of which roles may call which method; a method missing from it is
// refused (deny by default). The tenant comes from the principal; a principal
// configured for all tenants ("*") names the tenant per call in the
// "x-dsar-tenant" header. Admission: a global limit on calls in flight and a
// per-principal token bucket answer RESOURCE_EXHAUSTED at once rather than
// queueing without bound; both apply before any of the call's work.
// Refused calls (UNAUTHENTICATED, PERMISSION_DENIED) are counted by an
// audit::RefusalRecorder, which writes one audit row per peer, principal,
// reason and window: a flood of refusals never queues a write per call.
//
// Thread-safe.
#ifndef DSAR_SERVICES_CALL_GATE_H_
#define DSAR_SERVICES_CALL_GATE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dsar/config/v1/config.pb.h"
#include "lib/core/admission_limits.h"
#include "lib/core/call_context.h"
#include "services/metered_reactor.h"

namespace google::protobuf {
class Message;
}

namespace grpc {
class ServerContextBase;
class ServerUnaryReactor;
class CallbackServerContext;
}  // namespace grpc

namespace dsar {

class Clock;
namespace audit {
class RefusalRecorder;
}

// Permissions inside a method, beyond being allowed to call it.
// Filing an ERASURE with `verification` set (identity already checked, so it
// starts at once): without it such a filing is PERMISSION_DENIED.
inline constexpr char kPermissionPreVerifiedErasure[] =
    "/dsar.v1.PrivacyRequestService/CreatePrivacyRequest#pre_verified_erasure";

// Which roles may call which method, and which roles hold the permissions
// inside methods (kPermission*). Every method of every dsar.v1 service must
// have an entry; a method or permission without one is refused.
class MethodPolicy {
 public:
  // The built-in table (see call_gate.cc and docs/access-control.md).
  static const MethodPolicy& Default();
  bool Allows(absl::string_view method, Role role) const;
  bool HasEntry(absl::string_view method) const;
  // Every method in the table, sorted (e.g. the metrics' method list).
  std::vector<std::string> Methods() const;
  // Whether `role` holds `permission` (one of kPermission*).
  bool Grants(absl::string_view permission, Role role) const;
  // Every permission in the table, sorted.
  std::vector<std::string> Permissions() const;

 private:
  absl::flat_hash_map<std::string, uint32_t> roles_by_method_;      // bit per Role
  absl::flat_hash_map<std::string, uint32_t> roles_by_permission_;  // bit per Role
};

// An admitted call: who, for which tenant, and its place under the concurrency
// limit, released when the last copy of `slot` is destroyed (keep it alive
// until the call is answered).
struct AdmittedCall {
  CallContext ctx;
  std::shared_ptr<void> slot;
};

class CallGate {
 public:
  // `refusals` (where refused calls are counted for the audit log) may be
  // null; `clock` null means the system clock. Both must outlive the gate.
  CallGate(const config::v1::DsardConfig& config, audit::RefusalRecorder* refusals, Clock* clock,
           const MethodPolicy* policy = &MethodPolicy::Default());

  // `method` is the full gRPC method name, e.g. "/dsar.v1.ConsentService/CheckConsent".
  // Errors: UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT (bad
  // x-dsar-tenant), RESOURCE_EXHAUSTED (overloaded, rate-limited, or the
  // principal's calls in flight at its limit).
  absl::StatusOr<AdmittedCall> Admit(const grpc::ServerContextBase& context,
                                     absl::string_view method, absl::string_view request_id = "");
  // Admit for a server stream (WatchAlerts, DownloadExport): counted under
  // the stream limits (limits.max_open_streams, per_principal_max_open_streams),
  // apart from unary calls, for as long as `slot` lives.
  absl::StatusOr<AdmittedCall> AdmitStream(const grpc::ServerContextBase& context,
                                           absl::string_view method);

  // Whether the admitted caller holds `permission` (kPermission*):
  // PERMISSION_DENIED (ErrorInfo "PERMISSION_NOT_GRANTED", audited) when not.
  absl::Status Authorize(const grpc::ServerContextBase& context, const AdmittedCall& call,
                         absl::string_view permission);

  // Admit for unary callback handlers, then the bounds every request must
  // keep (CheckRequestBounds: timestamps within 1970..2200): on refusal
  // finishes `reactor` with the mapped status and returns false.
  bool AdmitOrFinish(grpc::CallbackServerContext* context, MeteredReactor* reactor,
                     absl::string_view method, const google::protobuf::Message& request,
                     absl::string_view request_id, AdmittedCall* call);

  // Where calls are counted (services/metered_reactor.h); set once, before
  // the server serves. Without it calls are not counted.
  void set_metrics(ops::RequestMetrics* metrics) { metrics_ = metrics; }
  // The reactor a unary handler answers through, counted under `method`.
  MeteredReactor* StartCall(absl::string_view method) const {
    return new MeteredReactor(CallMeter(metrics_, method));
  }
  // For streaming handlers, which have reactors of their own.
  CallMeter Meter(absl::string_view method) const { return CallMeter(metrics_, method); }

  // Unary calls admitted and not yet answered.
  int in_flight() const { return limits_.in_flight(AdmissionLimits::Kind::kCall); }
  // Server streams open.
  int open_streams() const { return limits_.in_flight(AdmissionLimits::Kind::kStream); }

  // Replaces the principals (token hashes, certificate identities, names,
  // roles, tenants) with `config`'s, e.g. on SIGHUP: calls admitted from now
  // on authenticate against them; calls in flight keep their admission and
  // no connection is touched. Returns how many principals there are now.
  int ReloadPrincipals(const config::v1::DsardConfig& config);

  // Lower-case hex SHA-256 of a token, as stored in the config.
  static std::string TokenHash(absl::string_view token);

 private:
  struct Principal {
    std::string name;
    Role role;
    std::string tenant;  // "*" for all tenants
  };
  struct Principals {
    absl::flat_hash_map<std::string, Principal> by_token_hash;
    absl::flat_hash_map<std::string, Principal> by_cert_identity;
  };
  struct Bucket {
    double tokens;
    absl::Time refilled;
  };

  // On failure also sets `claimed` to what the caller claimed to be when
  // that is known (a verified certificate mapping to no principal).
  // The principal stays valid while the returned pointer lives, across a
  // reload.
  absl::StatusOr<std::shared_ptr<const Principal>> Authenticate(
      const grpc::ServerContextBase& context, std::string* claimed) const;
  static std::shared_ptr<const Principals> BuildPrincipals(const config::v1::DsardConfig& config);
  absl::Status TakeToken(const std::string& principal);
  absl::StatusOr<AdmittedCall> AdmitAs(const grpc::ServerContextBase& context,
                                       absl::string_view method, absl::string_view request_id,
                                       AdmissionLimits::Kind kind);
  // Counts a refused call of `principal` (null: unauthenticated, claiming
  // `claimed` if not empty) acting for `tenant` (empty: none).
  void AuditRefusal(const grpc::ServerContextBase& context, const Principal* principal,
                    absl::string_view claimed, absl::string_view tenant, absl::string_view method,
                    absl::string_view request_id, const absl::Status& refusal);

  const MethodPolicy* policy_;
  ops::RequestMetrics* metrics_ = nullptr;
  audit::RefusalRecorder* refusals_;
  Clock* clock_;
  mutable absl::Mutex principals_mu_;
  std::shared_ptr<const Principals> principals_ ABSL_GUARDED_BY(principals_mu_);
  absl::flat_hash_map<std::string, bool> tenants_;

  const double rate_per_second_;
  const double burst_;
  AdmissionLimits limits_;
  absl::Mutex buckets_mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(buckets_mu_);
};

Role ParseRole(absl::string_view name);

}  // namespace dsar

#endif  // DSAR_SERVICES_CALL_GATE_H_
