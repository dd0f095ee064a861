#include "lib/consent/purpose_catalog.h"

namespace dsar::consent {

PurposeCatalog::PurposeCatalog(const config::v1::DsardConfig& config) {
  for (const auto& t : config.tenants()) {
    TenantInfo info;
    info.id = t.id();
    info.controller_name = t.controller_name();
    info.contact_email = t.contact_email();
    info.jurisdiction = t.jurisdiction();
    info.policy_url = t.policy_url();
    for (const auto& p : t.purposes()) {
      Purpose purpose;
      purpose.name = p.name();
      purpose.description = p.description();
      purpose.current_notice_version = p.current_notice_version();
      purpose.previous_notice_versions.assign(p.previous_notice_versions().begin(),
                                              p.previous_notice_versions().end());
      info.purposes.emplace(purpose.name, std::move(purpose));
    }
    tenants_.emplace(info.id, std::move(info));
  }
}

const TenantInfo* PurposeCatalog::FindTenant(absl::string_view tenant) const {
  auto it = tenants_.find(tenant);
  return it == tenants_.end() ? nullptr : &it->second;
}

const Purpose* PurposeCatalog::FindPurpose(absl::string_view tenant,
                                           absl::string_view purpose) const {
  const TenantInfo* t = FindTenant(tenant);
  if (t == nullptr) return nullptr;
  auto it = t->purposes.find(std::string(purpose));
  return it == t->purposes.end() ? nullptr : &it->second;
}

}  // namespace dsar::consent
