#include "services/call_gate.h"

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>
#include <sodium.h>

#include <algorithm>
#include <initializer_list>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/audit/audit_log.h"
#include "lib/audit/refusal_recorder.h"
#include "lib/core/clock.h"
#include "lib/core/errors.h"
#include "lib/core/log.h"
#include "services/grpc_status.h"
#include "services/request_bounds.h"

namespace dsar {
namespace {

constexpr uint32_t Bit(Role r) { return 1u << static_cast<int>(r); }

uint32_t Roles(std::initializer_list<Role> roles) {
  uint32_t bits = 0;
  for (Role r : roles) bits |= Bit(r);
  return bits;
}

std::string Metadata(const grpc::ServerContextBase& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

AdmissionLimits::Options LimitsFrom(const config::v1::LimitsConfig& c) {
  AdmissionLimits::Options o;
  if (c.max_concurrent_calls() > 0) o.max_calls = c.max_concurrent_calls();
  if (c.max_open_streams() > 0) o.max_streams = c.max_open_streams();
  if (c.per_principal_max_concurrent_calls() > 0) {
    o.per_principal_calls = c.per_principal_max_concurrent_calls();
  }
  if (c.per_principal_max_open_streams() > 0) {
    o.per_principal_streams = c.per_principal_max_open_streams();
  }
  return o;
}

}  // namespace

Role ParseRole(absl::string_view name) {
  if (name == "service") return Role::kService;
  if (name == "dpo") return Role::kDpo;
  if (name == "connector") return Role::kConnector;
  if (name == "auditor") return Role::kAuditor;
  if (name == "admin") return Role::kAdmin;
  return Role::kUnspecified;
}

// The access table. Principles: services act for people on the hot paths
// (consent, filing requests); the DPO runs the privacy programme; auditors
// read; connectors only report to dsard; admin operates the daemon.
const MethodPolicy& MethodPolicy::Default() {
  static const MethodPolicy* const policy = [] {
    auto* p = new MethodPolicy();
    using R = Role;
    auto add = [&](const char* service, std::initializer_list<const char*> methods,
                   std::initializer_list<Role> roles) {
      for (const char* m : methods) {
        p->roles_by_method_[absl::StrCat("/dsar.v1.", service, "/", m)] = Roles(roles);
      }
    };
    add("ConsentService", {"RecordConsent", "WithdrawConsent", "CheckConsent"},
        {R::kService, R::kDpo});
    add("ConsentService", {"ListConsentEvents", "GetConsentReceipt"},
        {R::kService, R::kDpo, R::kAuditor});
    add("AuditService", {"ListAuditEvents", "VerifyAuditLog"}, {R::kDpo, R::kAuditor});
    add("DeadlineService", {"ListDeadlines", "GetSlaReport", "WatchAlerts"},
        {R::kDpo, R::kAuditor, R::kAdmin});
    add("DeadlineService", {"AcknowledgeAlert"}, {R::kDpo, R::kAdmin});
    add("ConnectorService", {"ListConnectors", "GetConnectorHealth", "ListTasks"},
        {R::kDpo, R::kAuditor, R::kAdmin});
    add("ConnectorService", {"RetryTask"}, {R::kDpo, R::kAdmin});
    add("PrivacyRequestService",
        {"CreatePrivacyRequest", "GetPrivacyRequest", "ListPrivacyRequests"},
        {R::kService, R::kDpo});
    add("PrivacyRequestService",
        {"VerifyIdentity", "ExtendPrivacyRequest", "RejectPrivacyRequest", "CancelPrivacyRequest",
         "DownloadExport"},
        {R::kDpo});
    add("BreachService", {"ReportBreach", "UpdateBreach", "RecordNotification", "CloseBreach"},
        {R::kDpo});
    add("BreachService", {"GetBreach", "ListBreaches", "ExportBreachReport"},
        {R::kDpo, R::kAuditor});
    add("AdminService", {"CreateBackup", "ListBackups"}, {R::kAdmin});
    // Skipping identity verification for an erasure: only the DPO vouches
    // for it (a service's pre-verified access request is still accepted).
    p->roles_by_permission_[kPermissionPreVerifiedErasure] = Roles({R::kDpo});
    return p;
  }();
  return *policy;
}

bool MethodPolicy::Allows(absl::string_view method, Role role) const {
  auto it = roles_by_method_.find(method);
  return it != roles_by_method_.end() && (it->second & Bit(role)) != 0;
}

bool MethodPolicy::HasEntry(absl::string_view method) const {
  return roles_by_method_.contains(method);
}

std::vector<std::string> MethodPolicy::Methods() const {
  std::vector<std::string> out;
  for (const auto& [method, roles] : roles_by_method_) out.push_back(method);
  std::sort(out.begin(), out.end());
  return out;
}

bool MethodPolicy::Grants(absl::string_view permission, Role role) const {
  auto it = roles_by_permission_.find(permission);
  return it != roles_by_permission_.end() && (it->second & Bit(role)) != 0;
}

std::vector<std::string> MethodPolicy::Permissions() const {
  std::vector<std::string> out;
  for (const auto& [permission, roles] : roles_by_permission_) out.push_back(permission);
  std::sort(out.begin(), out.end());
  return out;
}

std::string CallGate::TokenHash(absl::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

CallGate::CallGate(const config::v1::DsardConfig& config, audit::RefusalRecorder* refusals,
                   Clock* clock, const MethodPolicy* policy)
    : policy_(policy),
      refusals_(refusals),
      clock_(clock != nullptr ? clock : SystemClock::Default()),
      rate_per_second_(config.limits().per_principal_rps()),
      burst_(std::max(1, config.limits().per_principal_burst())),
      limits_(LimitsFrom(config.limits())) {
  principals_ = BuildPrincipals(config);
  for (const auto& t : config.tenants()) tenants_[t.id()] = true;
}

std::shared_ptr<const CallGate::Principals> CallGate::BuildPrincipals(
    const config::v1::DsardConfig& config) {
  auto principals = std::make_shared<Principals>();
  for (const auto& p : config.principals()) {
    Principal principal{p.name(), ParseRole(p.role()), p.tenant()};
    if (!p.token_sha256().empty()) principals->by_token_hash[p.token_sha256()] = principal;
    if (!p.client_cert_identity().empty()) {
      principals->by_cert_identity[p.client_cert_identity()] = principal;
    }
  }
  return principals;
}

int CallGate::ReloadPrincipals(const config::v1::DsardConfig& config) {
  std::shared_ptr<const Principals> fresh = BuildPrincipals(config);
  absl::MutexLock lock(&principals_mu_);
  principals_.swap(fresh);
  // `fresh` (now the old set) is freed outside the lock once the calls
  // holding its principals are done.
  return config.principals_size();
}

absl::StatusOr<std::shared_ptr<const CallGate::Principal>> CallGate::Authenticate(
    const grpc::ServerContextBase& context, std::string* claimed) const {
  std::shared_ptr<const Principals> principals;
  {
    absl::ReaderMutexLock lock(&principals_mu_);
    principals = principals_;
  }
  std::string header = Metadata(context, "authorization");
  if (!header.empty()) {
    constexpr absl::string_view kBearer = "Bearer ";
    if (!absl::StartsWithIgnoreCase(header, kBearer) || header.size() == kBearer.size()) {
      return WithErrorInfo(absl::UnauthenticatedError("authorization must be Bearer <token>"),
                           "MALFORMED_CREDENTIALS");
    }
    auto it =
        principals->by_token_hash.find(TokenHash(absl::string_view(header).substr(kBearer.size())));
    if (it == principals->by_token_hash.end()) {
      return WithErrorInfo(absl::UnauthenticatedError("unknown token"), "INVALID_CREDENTIALS");
    }
    return std::shared_ptr<const Principal>(principals, &it->second);
  }
  // Mutual TLS: the verified peer identities (SANs, then CN).
  auto auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const auto& identity : auth->GetPeerIdentity()) {
      auto it = principals->by_cert_identity.find(std::string(identity.data(), identity.size()));
      if (it != principals->by_cert_identity.end()) {
        return std::shared_ptr<const Principal>(principals, &it->second);
      }
    }
    const auto identities = auth->GetPeerIdentity();
    if (!identities.empty()) {
      *claimed = absl::StrCat(
          "cert:", absl::string_view(identities.front().data(), identities.front().size()));
    }
    return WithErrorInfo(absl::UnauthenticatedError("client certificate maps to no principal"),
                         "UNKNOWN_CERTIFICATE");
  }
  return WithErrorInfo(absl::UnauthenticatedError("missing authorization: Bearer <token>"),
                       "MISSING_CREDENTIALS");
}

absl::Status CallGate::TakeToken(const std::string& principal) {
  if (rate_per_second_ <= 0) return absl::OkStatus();
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&buckets_mu_);
  auto [it, inserted] = buckets_.try_emplace(principal, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted) {
    b.tokens =
        std::min(burst_, b.tokens + absl::ToDoubleSeconds(now - b.refilled) * rate_per_second_);
    b.refilled = now;
  }
  if (b.tokens < 1.0) {
    return WithErrorInfo(absl::ResourceExhaustedError("rate limit exceeded; retry later"),
                         "RATE_LIMITED", {{"principal", principal}});
  }
  b.tokens -= 1.0;
  return absl::OkStatus();
}

void CallGate::AuditRefusal(const grpc::ServerContextBase& context, const Principal* principal,
                            absl::string_view claimed, absl::string_view tenant,
                            absl::string_view method, absl::string_view request_id,
                            const absl::Status& refusal) {
  if (refusals_ == nullptr) return;
  audit::Refusal r;
  r.peer = audit::PeerAddress(context.peer());
  r.principal = principal != nullptr ? principal->name
                : claimed.empty()    ? std::string(audit::kUnauthenticated)
                                     : audit::SanitiseRequestId(claimed.substr(0, 64));
  r.role = principal != nullptr ? principal->role : Role::kUnspecified;
  r.tenant = tenant.empty() ? std::string(audit::kNoTenant) : std::string(tenant);
  r.code = absl::StatusCodeToString(refusal.code());
  r.reason = ErrorReasonOf(refusal);
  r.method = std::string(method);
  r.request_id = std::string(request_id);
  refusals_->Record(r);
}

absl::StatusOr<AdmittedCall> CallGate::Admit(const grpc::ServerContextBase& context,
                                             absl::string_view method,
                                             absl::string_view request_id) {
  return AdmitAs(context, method, request_id, AdmissionLimits::Kind::kCall);
}

absl::StatusOr<AdmittedCall> CallGate::AdmitStream(const grpc::ServerContextBase& context,
                                                   absl::string_view method) {
  return AdmitAs(context, method, "", AdmissionLimits::Kind::kStream);
}

absl::StatusOr<AdmittedCall> CallGate::AdmitAs(const grpc::ServerContextBase& context,
                                               absl::string_view method,
                                               absl::string_view request_id,
                                               AdmissionLimits::Kind kind) {
  // The global limit first: an overloaded server does no work for the call,
  // not even hashing its token. The places are given back when the ticket
  // (the call's `slot`) goes.
  auto ticket = limits_.AdmitGlobal(kind);
  if (!ticket.ok()) return ticket.status();
  std::string claimed;
  auto principal = Authenticate(context, &claimed);
  if (!principal.ok()) {
    AuditRefusal(context, nullptr, claimed, "", method, request_id, principal.status());
    return principal.status();
  }
  const Principal& p = **principal;
  // Rate before the role and tenant checks: a principal calling what it may
  // not is limited like any other, before its refusals are counted.
  if (absl::Status rate = TakeToken(p.name); !rate.ok()) return rate;
  if (absl::Status own = limits_.AdmitPrincipal(**ticket, p.name); !own.ok()) return own;
  std::string requested = Metadata(context, "x-dsar-tenant");
  const std::string own_tenant =
      p.tenant != "*" ? p.tenant : (tenants_.contains(requested) ? requested : "");
  if (!policy_->Allows(method, p.role)) {
    absl::Status denied = WithErrorInfo(absl::PermissionDeniedError(absl::StrCat(
                                            "role ", RoleName(p.role), " may not call ", method)),
                                        "ROLE_NOT_ALLOWED", {{"method", std::string(method)}});
    AuditRefusal(context, &p, "", own_tenant, method, request_id, denied);
    return denied;
  }
  std::string tenant = p.tenant;
  if (p.tenant == "*") {
    if (requested.empty() || !tenants_.contains(requested)) {
      return InvalidField("x-dsar-tenant",
                          "this principal serves all tenants: name a configured tenant in the "
                          "x-dsar-tenant header");
    }
    tenant = requested;
  } else if (!requested.empty() && requested != p.tenant) {
    absl::Status denied =
        WithErrorInfo(absl::PermissionDeniedError("principal may not act for another tenant"),
                      "TENANT_NOT_ALLOWED");
    AuditRefusal(context, &p, "", own_tenant, method, request_id, denied);
    return denied;
  }
  AdmittedCall call;
  call.slot = std::shared_ptr<AdmissionLimits::Ticket>(std::move(*ticket));
  call.ctx.principal = p.name;
  call.ctx.role = p.role;
  call.ctx.tenant = std::move(tenant);
  call.ctx.all_tenants = p.tenant == "*";
  call.ctx.method = std::string(method);
  call.ctx.idempotency_key = IdempotencyKey(std::string(request_id));
  return call;
}

absl::Status CallGate::Authorize(const grpc::ServerContextBase& context, const AdmittedCall& call,
                                 absl::string_view permission) {
  if (policy_->Grants(permission, call.ctx.role)) return absl::OkStatus();
  absl::Status denied = WithErrorInfo(
      absl::PermissionDeniedError(absl::StrCat("role ", RoleName(call.ctx.role),
                                               " does not hold the permission ", permission)),
      "PERMISSION_NOT_GRANTED", {{"permission", std::string(permission)}});
  Principal p{call.ctx.principal, call.ctx.role, call.ctx.all_tenants ? "*" : call.ctx.tenant};
  AuditRefusal(context, &p, "", call.ctx.tenant, call.ctx.method, call.ctx.idempotency_key.value(),
               denied);
  return denied;
}

bool CallGate::AdmitOrFinish(grpc::CallbackServerContext* context, MeteredReactor* reactor,
                             absl::string_view method, const google::protobuf::Message& request,
                             absl::string_view request_id, AdmittedCall* call) {
  auto admitted = Admit(*context, method, request_id);
  if (!admitted.ok()) {
    reactor->Finish(ToGrpcStatus(admitted.status()));
    return false;
  }
  if (absl::Status bounds = CheckRequestBounds(request); !bounds.ok()) {
    reactor->Finish(ToGrpcStatus(bounds));
    return false;
  }
  *call = std::move(*admitted);
  return true;
}

}  // namespace dsar
