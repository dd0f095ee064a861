#include "services/call_gate.h"

#include <grpcpp/server_context.h>
#include <sodium.h>

#include <initializer_list>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/core/errors.h"

namespace dsar {
namespace {

constexpr uint32_t Bit(Role r) { return 1u << static_cast<int>(r); }

uint32_t Roles(std::initializer_list<Role> roles) {
  uint32_t bits = 0;
  for (Role r : roles) bits |= Bit(r);
  return bits;
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
    // Consent: services record, withdraw and check on behalf of people; the
    // DPO does the same from the terminal; auditors may read history.
    add("ConsentService", {"RecordConsent", "WithdrawConsent"}, {R::kService, R::kDpo});
    add("ConsentService", {"CheckConsent"}, {R::kService, R::kDpo});
    add("ConsentService", {"ListConsentEvents", "GetConsentReceipt"},
        {R::kService, R::kDpo, R::kAuditor});
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

std::string CallGate::TokenHash(absl::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()),
                     token.size());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

CallGate::CallGate(const config::v1::DsardConfig& config, const MethodPolicy* policy)
    : policy_(policy) {
  for (const auto& p : config.principals()) {
    by_token_hash_[p.token_sha256()] = Principal{p.name(), ParseRole(p.role()), p.tenant()};
  }
}

absl::StatusOr<RequestContext> CallGate::Admit(const grpc::ServerContextBase& context,
                                               absl::string_view method,
                                               absl::string_view request_id) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return WithErrorInfo(absl::UnauthenticatedError("missing authorization: Bearer <token>"),
                         "MISSING_CREDENTIALS");
  }
  absl::string_view header(it->second.data(), it->second.size());
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWithIgnoreCase(header, kBearer) || header.size() == kBearer.size()) {
    return WithErrorInfo(absl::UnauthenticatedError("authorization must be Bearer <token>"),
                         "MALFORMED_CREDENTIALS");
  }
  auto principal = by_token_hash_.find(TokenHash(header.substr(kBearer.size())));
  if (principal == by_token_hash_.end()) {
    return WithErrorInfo(absl::UnauthenticatedError("unknown token"), "INVALID_CREDENTIALS");
  }
  if (!policy_->Allows(method, principal->second.role)) {
    return WithErrorInfo(
        absl::PermissionDeniedError(absl::StrCat("role ", RoleName(principal->second.role),
                                                 " may not call ", method)),
        "ROLE_NOT_ALLOWED", {{"method", std::string(method)}});
  }
  RequestContext ctx;
  ctx.principal = principal->second.name;
  ctx.role = principal->second.role;
  ctx.tenant = principal->second.tenant;
  ctx.method = std::string(method);
  ctx.request_id = std::string(request_id);
  return ctx;
}

}  // namespace dsar
