#include "tools/bench/watched_process.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace dsar::bench {

WatchedProcess::WatchedProcess(const std::vector<std::string>& argv,
                               std::vector<std::string> counted_events)
    : child_(argv), counted_events_(std::move(counted_events)) {
  reader_ = std::thread([this] { Follow(); });
}

WatchedProcess::~WatchedProcess() { Stop(); }

void WatchedProcess::Follow() {
  while (auto line = child_.ReadLine()) {
    // Cheap filter first: only lines naming an event of interest are parsed.
    if (!ready_.HasBeenNotified() && line->find("\"event\":\"ready\"") != std::string::npos) {
      auto obj = nlohmann::json::parse(*line, nullptr, false);
      port_ = obj.is_object() ? obj.value("port", 0) : 0;
      ready_.Notify();
      continue;
    }
    for (const std::string& event : counted_events_) {
      if (line->find(absl::StrCat("\"event\":\"", event, "\"")) == std::string::npos) continue;
      absl::MutexLock lock(&mu_);
      Seen& seen = seen_[event];
      seen.lines.push_back(*line);
      seen.last = absl::Now();
    }
  }
  if (!ready_.HasBeenNotified()) ready_.Notify();
}

int WatchedProcess::AwaitReady(absl::Duration timeout) {
  return ready_.WaitForNotificationWithTimeout(timeout) ? port_ : 0;
}

bool WatchedProcess::AwaitEvents(const std::string& event, size_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = seen_.find(event);
    return it != seen_.end() && it->second.lines.size() >= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

std::vector<std::string> WatchedProcess::Events(const std::string& event) {
  absl::MutexLock lock(&mu_);
  auto it = seen_.find(event);
  return it == seen_.end() ? std::vector<std::string>{} : it->second.lines;
}

absl::Time WatchedProcess::LastEventTime(const std::string& event) {
  absl::MutexLock lock(&mu_);
  auto it = seen_.find(event);
  return it == seen_.end() ? absl::InfinitePast() : it->second.last;
}

int64_t WatchedProcess::StatusKb(const std::string& key) const {
  std::ifstream in(absl::StrCat("/proc/", child_.pid(), "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}

double WatchedProcess::CpuSeconds() const {
  std::ifstream in(absl::StrCat("/proc/", child_.pid(), "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::atoll(f.c_str());
    if (i == 15) stime = std::atoll(f.c_str());
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void WatchedProcess::Stop() {
  if (stopped_) return;
  stopped_ = true;
  child_.Signal(SIGTERM);
  reader_.join();
  child_.Wait();
}

}  // namespace dsar::bench
