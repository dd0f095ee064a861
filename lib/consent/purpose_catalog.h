// PurposeCatalog: the tenants dsard serves and the purposes each lets a
// subject consent to, with their privacy-notice versions.
//
// Built once from the config; immutable and thread-safe afterwards.
#ifndef DSAR_LIB_CONSENT_PURPOSE_CATALOG_H_
#define DSAR_LIB_CONSENT_PURPOSE_CATALOG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "dsar/config/v1/config.pb.h"

namespace dsar::consent {

struct Purpose {
  std::string name;
  std::string description;
  std::string current_notice_version;
  std::vector<std::string> previous_notice_versions;
};

struct TenantInfo {
  std::string id;
  std::string controller_name;
  std::string contact_email;
  std::string jurisdiction;
  std::string policy_url;
  std::map<std::string, Purpose> purposes;
};

class PurposeCatalog {
 public:
  explicit PurposeCatalog(const config::v1::DsardConfig& config);
  // Null when unknown.
  const TenantInfo* FindTenant(absl::string_view tenant) const;
  const Purpose* FindPurpose(absl::string_view tenant, absl::string_view purpose) const;

 private:
  std::map<std::string, TenantInfo, std::less<>> tenants_;
};

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_PURPOSE_CATALOG_H_
