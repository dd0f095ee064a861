// Files and directories only dsard's own user may read.
//
// Everything dsard writes holds personal data or what protects it: the
// database and its WAL, backups (every tenant's data), export bundles and
// their parts, manifests. Created under the process umask they were 0644 /
// 0755 (var/exports/<tenant> was world-readable). These helpers create them
// owner-only whatever the umask; dsard's main also sets umask 077 for
// anything a library creates on its own.
//
// Thread-safe (plain system calls).
#ifndef DSAR_LIB_CORE_PRIVATE_FILES_H_
#define DSAR_LIB_CORE_PRIVATE_FILES_H_

#include <string>

#include "absl/status/status.h"

namespace dsar {

// Like std::filesystem::create_directories, and every directory it creates
// gets mode 0700. Directories that already exist are left as they are.
// UNAVAILABLE naming the path when one cannot be created.
absl::Status CreatePrivateDirectories(const std::string& dir);

// Creates `path` empty with mode 0600 unless it exists (then leaves it), so
// that a library opening it afterwards (SQLite, fopen) keeps that mode.
// UNAVAILABLE when it can be neither created nor found.
absl::Status EnsurePrivateFile(const std::string& path);

}  // namespace dsar

#endif  // DSAR_LIB_CORE_PRIVATE_FILES_H_
