// ScratchDir: a fresh directory for one benchmark's databases and logs,
// removed with its contents when the benchmark ends, so runs never reuse or
// leave behind state.
#ifndef DSAR_TOOLS_BENCH_SCRATCH_DIR_H_
#define DSAR_TOOLS_BENCH_SCRATCH_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace dsar::bench {

class ScratchDir {
 public:
  // A new directory under `parent`; path() is empty when it could not be made.
  explicit ScratchDir(const std::string& parent) {
    std::string tmpl = parent + "/dsar-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace dsar::bench

#endif  // DSAR_TOOLS_BENCH_SCRATCH_DIR_H_
