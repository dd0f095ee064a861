#include "lib/core/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"

namespace dsar {

absl::Status CreatePrivateDirectories(const std::string& dir) {
  namespace fs = std::filesystem;
  if (dir.empty()) return absl::OkStatus();
  // The missing ancestors, outermost first.
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path p = fs::path(dir).lexically_normal(); !p.empty() && !fs::exists(p, ec);
       p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::UnavailableError(
          absl::StrCat(it->string(), ": cannot create directory: ", std::strerror(errno)));
    }
    // mkdir's mode is masked by the umask; 0700 stays 0700 under any umask
    // that leaves the owner's bits, and chmod makes sure.
    ::chmod(it->c_str(), 0700);
  }
  return absl::OkStatus();
}

absl::Status EnsurePrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return absl::OkStatus();
  }
  if (errno == EEXIST) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(path, ": cannot create: ", std::strerror(errno)));
}

}  // namespace dsar
