// TempDir: a fresh directory under $TMPDIR (or /tmp, or a given parent),
// removed with its contents at destruction; tests and benchmarks never reuse
// or leave behind state. path() is empty when it could not be made.
#ifndef DSAR_TESTS_TESTING_TEMP_DIR_H_
#define DSAR_TESTS_TESTING_TEMP_DIR_H_

#include <cstdlib>
#include <filesystem>
#include <string>

namespace dsar::testing {

class TempDir {
 public:
  TempDir() : TempDir(DefaultParent()) {}
  explicit TempDir(const std::string& parent) {
    std::string tmpl = parent + "/dsar-test-XXXXXX";
    char* made = mkdtemp(tmpl.data());
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  static std::string DefaultParent() {
    const char* base = std::getenv("TMPDIR");
    return base != nullptr && *base != '\0' ? base : "/tmp";
  }

  std::string path_;
};

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_TEMP_DIR_H_
