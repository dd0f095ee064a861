// DrainedProcess: a real child process (dsard, refbackend,
// dsar-sql-connector) whose output a thread reads continuously, so a chatty
// process never blocks; end-to-end tests wait for its log lines on a
// condition variable instead of sleeping.
#ifndef DSAR_TESTS_TESTING_DRAINED_PROCESS_H_
#define DSAR_TESTS_TESTING_DRAINED_PROCESS_H_

#include <signal.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"

namespace dsar::testing {

class DrainedProcess {
 public:
  explicit DrainedProcess(const std::vector<std::string>& argv) : proc_(argv) {}
  ~DrainedProcess() {
    if (!reaped_) {
      proc_.Signal(SIGKILL);
      Reap();
    }
  }

  // Reads (on this thread) until the "ready" line; returns its port, then
  // hands reading over to a drain thread.
  int WaitReady() {
    auto line = proc_.WaitForLine("\"event\":\"ready\"");
    int port = line ? nlohmann::json::parse(*line).value("port", 0) : 0;
    drain_ = std::thread([this] {
      while (auto l = proc_.ReadLine()) {
        absl::MutexLock lock(&mu_);
        lines_.push_back(std::move(*l));
      }
      absl::MutexLock lock(&mu_);
      eof_ = true;
    });
    return port;
  }

  // Waits until a line contains every needle; false at EOF or timeout.
  bool WaitForLine(const std::vector<std::string>& needles,
                   absl::Duration timeout = absl::Seconds(60)) {
    absl::MutexLock lock(&mu_);
    auto found = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const auto& l : lines_) {
        bool all = true;
        for (const auto& n : needles) all &= l.find(n) != std::string::npos;
        if (all) return true;
      }
      return eof_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&found), timeout);
    for (const auto& l : lines_) {
      bool all = true;
      for (const auto& n : needles) all &= l.find(n) != std::string::npos;
      if (all) return true;
    }
    return false;
  }

  std::string Output() {
    absl::MutexLock lock(&mu_);
    std::string out;
    for (const auto& l : lines_) absl::StrAppend(&out, l, "\n");
    return out;
  }

  void Signal(int sig) { proc_.Signal(sig); }
  int Reap() {
    if (drain_.joinable()) drain_.join();
    reaped_ = true;
    return proc_.Wait();
  }

 private:
  ChildProcess proc_;
  std::thread drain_;
  bool reaped_ = false;
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_DRAINED_PROCESS_H_
