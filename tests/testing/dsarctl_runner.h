// DsarctlRunner: runs the dsarctl binary (DSARCTL_PATH) against one dsard
// over plaintext loopback, with a clean environment (no user config file),
// capturing stdout and stderr apart. For CLI tests.
#ifndef DSAR_TESTS_TESTING_DSARCTL_RUNNER_H_
#define DSAR_TESTS_TESTING_DSARCTL_RUNNER_H_

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/run_command.h"
#include "tests/testing/temp_dir.h"

namespace dsar::testing {

class DsarctlRunner {
 public:
  explicit DsarctlRunner(std::string server = "") : server_(std::move(server)) {}
  void set_server(std::string server) { server_ = std::move(server); }

  // dsarctl --server S --plaintext [--token T] args...
  CommandResult Run(const std::vector<std::string>& args, const char* token,
                    const std::string& stdin_text = "") const {
    std::vector<std::string> argv = {DSARCTL_PATH, "--server", server_, "--plaintext"};
    if (token != nullptr) {
      argv.push_back("--token");
      argv.push_back(token);
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, Env(), stdin_text);
  }

  // PATH, and HOME/XDG_CONFIG_HOME pointing at an empty directory.
  std::vector<std::string> Env() const {
    return {"PATH=/usr/bin:/bin", absl::StrCat("XDG_CONFIG_HOME=", home_.path()),
            absl::StrCat("HOME=", home_.path())};
  }
  const TempDir& home() const { return home_; }

  // stdout parsed as JSON (a test failure when it is not).
  static nlohmann::json Json(const CommandResult& r) {
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out << r.err;
    return j;
  }

 private:
  std::string server_;
  TempDir home_;
};

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_DSARCTL_RUNNER_H_
