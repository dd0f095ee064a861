// Where a request's export files live under the export directory:
//
//   <root>/<tenant>/<request id>/bundle.enc          the encrypted bundle
//   <root>/<tenant>/<request id>/parts/<task id>/    one connector's records:
//       <n>.part (encrypted, one per category) and manifest.json (categories
//       and counts, no personal data)
//
// Tenant and request ids are restricted to [a-z0-9_-], so paths cannot escape
// the root. Immutable; thread-safe.
#ifndef DSAR_LIB_PRIVACY_REQUESTS_EXPORT_FILES_H_
#define DSAR_LIB_PRIVACY_REQUESTS_EXPORT_FILES_H_

#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace dsar::privacy_requests {

class ExportFiles {
 public:
  explicit ExportFiles(std::string root) : root_(std::move(root)) {}

  std::string RequestDir(absl::string_view tenant, absl::string_view id) const {
    return absl::StrCat(root_, "/", tenant, "/", id);
  }
  std::string BundlePath(absl::string_view tenant, absl::string_view id) const {
    return absl::StrCat(RequestDir(tenant, id), "/bundle.enc");
  }
  std::string PartsRoot(absl::string_view tenant, absl::string_view id) const {
    return absl::StrCat(RequestDir(tenant, id), "/parts");
  }
  std::string PartsDir(absl::string_view tenant, absl::string_view id,
                       absl::string_view task_id) const {
    return absl::StrCat(PartsRoot(tenant, id), "/", task_id);
  }
  // Removes everything of the request; true when nothing is left.
  bool RemoveRequest(absl::string_view tenant, absl::string_view id) const {
    std::error_code ec;
    std::filesystem::remove_all(RequestDir(tenant, id), ec);
    return !ec;
  }
  bool RemoveParts(absl::string_view tenant, absl::string_view id) const {
    std::error_code ec;
    std::filesystem::remove_all(PartsRoot(tenant, id), ec);
    return !ec;
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_EXPORT_FILES_H_
