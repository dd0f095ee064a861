// WatchedProcess: a real dsard or refbackend started by a benchmark, whose
// JSON log lines a reader thread follows. Benchmarks synchronise on what the
// process says (its "ready" line, counted events such as
// "privacy_request_completed") instead of polling or sleeping. The process
// dies with the benchmark (PR_SET_PDEATHSIG) and is stopped with SIGTERM at
// destruction.
#ifndef DSAR_TOOLS_BENCH_WATCHED_PROCESS_H_
#define DSAR_TOOLS_BENCH_WATCHED_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"

namespace dsar::bench {

class WatchedProcess {
 public:
  // Starts `argv`; log lines whose "event" is one of `counted_events` are
  // kept (as their JSON text) for Events().
  WatchedProcess(const std::vector<std::string>& argv, std::vector<std::string> counted_events);
  ~WatchedProcess();
  WatchedProcess(const WatchedProcess&) = delete;
  WatchedProcess& operator=(const WatchedProcess&) = delete;

  // The port of the "ready" line; 0 when the process ended first or took
  // longer than `timeout`.
  int AwaitReady(absl::Duration timeout = absl::Minutes(5));
  // False when fewer than `n` lines of `event` were logged within `timeout`.
  bool AwaitEvents(const std::string& event, size_t n, absl::Duration timeout);
  // The lines of `event` so far, and when the last one was read.
  std::vector<std::string> Events(const std::string& event);
  absl::Time LastEventTime(const std::string& event);

  pid_t pid() const { return child_.pid(); }
  // A field of /proc/<pid>/status in KiB (VmRSS, VmHWM); -1 when unknown.
  int64_t StatusKb(const std::string& key) const;
  // User + system CPU seconds the process has used so far (all threads, in
  // clock ticks of /proc/<pid>/stat); -1 when unknown.
  double CpuSeconds() const;
  // SIGTERM, then reaps the process once its output has ended.
  void Stop();

 private:
  struct Seen {
    std::vector<std::string> lines;
    absl::Time last = absl::InfinitePast();
  };
  void Follow();

  testing::ChildProcess child_;
  const std::vector<std::string> counted_events_;
  std::thread reader_;
  bool stopped_ = false;
  absl::Notification ready_;
  int port_ = 0;  // written before ready_ is notified
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Seen> seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dsar::bench

#endif  // DSAR_TOOLS_BENCH_WATCHED_PROCESS_H_
