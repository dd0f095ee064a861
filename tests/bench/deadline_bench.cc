// deadline_bench: measures the deadline engine inside a real dsard process.
//
//   1. seeds --pending open deadlines (alert levels 2-32 days away) and
//      --burst deadlines whose first alert level falls on one instant T;
//   2. starts dsard on that database and measures start-up to the "ready" log
//      line and the resident set size;
//   3. waits until every burst alert has fired and reports the lateness of
//      those alerts (fired_at - T) as p50/p99/max, plus lost and doubled ones;
//      then until the deadlines have moved on to their next level, and (with
//      the log sink) when the alerts' log lines were written (p50/p99) and
//      until every alert's log delivery is recorded.
// Not a test: run by hand (see docs/benchmarks.md). Synthetic ids only.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "lib/deadline/deadlines.h"
#include "lib/store/store.h"

namespace {

using dsar::deadline::Deadlines;
using dsar::deadline::ScheduleRequest;

// Schedules `n` deadlines, `per_write` per transaction, up to 8 writes in flight.
void Seed(dsar::store::Store& store, const Deadlines& deadlines, int n, int per_write,
          const std::function<ScheduleRequest(int)>& make) {
  absl::Mutex mu;
  int in_flight = 0;
  std::atomic<int> failures{0};
  for (int first = 0; first < n; first += per_write) {
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(+[](int* f) { return *f < 8; }, &in_flight));
      ++in_flight;
    }
    const int last = std::min(n, first + per_write);
    store.Write(
        [&, first, last](dsar::store::WriteTxn& txn) -> absl::Status {
          const absl::Time now = absl::Now();
          for (int i = first; i < last; ++i) {
            auto d = deadlines.Schedule(txn, make(i), now);
            if (!d.ok()) return d.status();
          }
          return absl::OkStatus();
        },
        [&](absl::Status s) {
          if (!s.ok()) {
            std::cerr << "seed write failed: " << s << "\n";
            ++failures;
          }
          absl::MutexLock lock(&mu);
          --in_flight;
        });
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(+[](int* f) { return *f == 0; }, &in_flight));
  if (failures > 0) std::exit(1);
}

int64_t ProcStatusKb(pid_t pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}

// User + system CPU seconds used so far by `pid` (all threads).
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::atoll(f.c_str());
    if (i == 15) stime = std::atoll(f.c_str());
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"deadline_bench"};
  std::string dir, dsard_path;
  int pending = 1000000, burst = 100000;
  int lead_seconds = 60;
  bool no_log_sink = false;
  int seed_cache_mib = 0;
  std::string pending_cache;
  app.add_option("--dir", dir, "Work directory (database, config)")->required();
  app.add_option("--dsard", dsard_path, "Path of the dsard binary")->required();
  app.add_option("--pending", pending, "Open deadlines whose alerts are days away");
  app.add_option("--burst", burst, "Deadlines whose first alert falls on one instant");
  app.add_option("--lead-seconds", lead_seconds, "Seconds from seeding the burst to its instant");
  app.add_flag("--no-log-sink", no_log_sink, "Configure dsard without the log alert sink");
  app.add_option("--pending-cache", pending_cache,
                 "Database file holding the seeded pending deadlines: copied when it exists, "
                 "written after seeding otherwise (must match --pending)");
  app.add_option("--seed-cache-mib", seed_cache_mib,
                 "SQLite page cache of the seeding connection (0: SQLite's default 2 MiB)");
  CLI11_PARSE(app, argc, argv);
  std::filesystem::create_directories(dir);
  const std::string db_path = dir + "/dsar.db";
  std::filesystem::remove(db_path);
  std::filesystem::remove(db_path + "-wal");
  std::filesystem::remove(db_path + "-shm");

  // 1. Seed. With --pending-cache, the pending deadlines are seeded once and
  // copied from that file on later runs (their alerts stay days away).
  absl::Time burst_at;
  const bool pending_cached = !pending_cache.empty() && std::filesystem::exists(pending_cache);
  if (pending_cached) std::filesystem::copy_file(pending_cache, db_path);
  {
    dsar::store::StoreOptions options;
    options.path = db_path;
    auto store = dsar::store::Store::Open(options);
    if (!store.ok()) {
      std::cerr << store.status() << "\n";
      return 1;
    }
    auto deadlines = Deadlines::Create({});
    if (seed_cache_mib > 0) {
      // Only this tool's seeding connection; dsard runs with the store's settings.
      auto s = (*store)->WriteAndWait([&](dsar::store::WriteTxn& txn) {
        txn.Exec(absl::StrCat("PRAGMA cache_size = -", seed_cache_mib * 1024));
        return absl::OkStatus();
      });
      if (!s.ok()) std::cerr << "cache_size: " << s << "\n";
    }
    const absl::Time t0 = absl::Now();
    if (!pending_cached) Seed(**store, **deadlines, pending, 2000, [&](int i) {
      const absl::Time due =
          t0 + absl::Hours(72) + absl::Seconds(int64_t{i} * (30LL * 86400) / pending);
      return ScheduleRequest{absl::StrFormat("tenant-%02d", i % 20),
                             dsar::deadline::kRequestProcessor,
                             absl::StrFormat("privacyRequests/bench-%07d", i), due - absl::Hours(72),
                             due};
    });
    const absl::Duration pending_took = absl::Now() - t0;
    if (!pending_cache.empty() && !pending_cached) {
      // Closing the last connection checkpoints the WAL into the file.
      (*store)->Close();
      std::filesystem::copy_file(db_path, pending_cache);
      store = dsar::store::Store::Open(options);
      if (!store.ok()) {
        std::cerr << store.status() << "\n";
        return 1;
      }
    }
    burst_at = absl::Now() + absl::Seconds(lead_seconds);
    const absl::Time t1 = absl::Now();
    Seed(**store, **deadlines, burst, 2000, [&](int i) {
      const absl::Time due = burst_at + absl::Hours(24);  // "T-24h" fires at burst_at
      return ScheduleRequest{absl::StrFormat("tenant-%02d", i % 20),
                             dsar::deadline::kBreachControllerNotification,
                             absl::StrFormat("breaches/bench-%07d", i), due - absl::Hours(72), due};
    });
    const absl::Duration burst_took = absl::Now() - t1;
    (*store)->Close();
    std::cout << absl::StrFormat(
        "seeded %d pending in %.1f s (%.0f/s; 0 when copied from --pending-cache), %d burst in %.1f s; db %.0f MiB\n", pending,
        absl::ToDoubleSeconds(pending_took), pending / absl::ToDoubleSeconds(pending_took), burst,
        absl::ToDoubleSeconds(burst_took),
        std::filesystem::file_size(db_path) / 1048576.0);
    if (absl::Now() > burst_at - absl::Seconds(5)) {
      std::cerr << "seeding the burst took too long; raise --lead-seconds\n";
      return 1;
    }
  }

  // 2. Start dsard and time it to "ready".
  const std::string config_path = dir + "/dsard.textproto";
  std::ofstream(config_path) << "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\n"
                             << "database_path: \"" << db_path << "\"\n"
                             << (no_log_sink ? "deadline { disable_log_sink: true }\n" : "");
  int fds[2];
  if (pipe(fds) != 0) return 1;
  const absl::Time spawn = absl::Now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(dsard_path.c_str(), dsard_path.c_str(), "--config", config_path.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  absl::Notification ready;
  absl::Time ready_at;
  std::atomic<int64_t> log_lines{0};
  // When each hundredth of the burst's alerts had been written by the log
  // sink (its lines read from dsard's output): delivery, not just commit.
  absl::Mutex logged_mu;
  std::vector<absl::Time> logged_at;
  std::thread reader([&] {
    FILE* in = fdopen(fds[0], "r");
    std::ofstream log_file(dir + "/dsard.log");
    int64_t alert_lines = 0;  // burst alerts are the only alerts
    char* line = nullptr;
    size_t cap = 0;
    while (getline(&line, &cap, in) > 0) {
      log_file << line;
      ++log_lines;
      if (strstr(line, "\"event\":\"deadline_alert\"") != nullptr) {
        const absl::Time now = absl::Now();
        absl::MutexLock lock(&logged_mu);
        if (logged_at.size() < 100) {
          ++alert_lines;
          if (alert_lines >= static_cast<int64_t>(logged_at.size() + 1) * burst / 100) {
            logged_at.push_back(now);
          }
        }
      }
      if (!ready.HasBeenNotified() && strstr(line, "\"event\":\"ready\"") != nullptr) {
        ready_at = absl::Now();
        ready.Notify();
      }
    }
    free(line);
    fclose(in);
  });
  if (!ready.WaitForNotificationWithTimeout(absl::Seconds(60))) {
    std::cerr << "dsard did not become ready\n";
    kill(pid, SIGKILL);
    reader.join();
    return 1;
  }
  const int64_t rss_ready = ProcStatusKb(pid, "VmRSS");
  std::cout << absl::StrFormat("dsard start-up to ready: %.0f ms; RSS at ready %.1f MiB\n",
                               absl::ToDoubleMilliseconds(ready_at - spawn), rss_ready / 1024.0);

  // 3. Wait for the burst to fire (polls a read-only connection). The poll
  // reads MAX(seq) (a primary-key seek, cheap enough to run every 10 ms):
  // burst alerts are the only alerts, which the counts below check.
  while (absl::Now() < burst_at - absl::Milliseconds(200)) usleep(50000);
  const double cpu_before = CpuSeconds(pid);
  double load_before[3] = {0, 0, 0};
  getloadavg(load_before, 3);
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  db.exec("PRAGMA busy_timeout = 5000");
  const int64_t burst_us = absl::ToUnixMicros(burst_at);
  auto max_seq = [&] {
    SQLite::Statement q(db, "SELECT COALESCE(MAX(seq), 0) FROM deadline_alerts");
    q.executeStep();
    return q.getColumn(0).getInt64();
  };
  const int64_t seq_before = max_seq();
  int64_t fired = 0;
  absl::Time all_fired_at;
  // When each tenth of the burst had committed (visible to a reader).
  std::vector<absl::Duration> visible_at;
  while (absl::Now() < burst_at + absl::Seconds(120)) {
    fired = max_seq() - seq_before;
    const absl::Duration since = absl::Now() - burst_at;
    while (visible_at.size() < 100 && fired >= static_cast<int64_t>(visible_at.size() + 1) *
                                                    burst / 100) {
      visible_at.push_back(since);
    }
    if (fired >= burst) {
      all_fired_at = absl::Now();
      break;
    }
    usleep(10000);  // a benchmark poll, not a test synchronisation
  }
  const double cpu_burst = CpuSeconds(pid) - cpu_before;
  double load_after[3] = {0, 0, 0};
  getloadavg(load_after, 3);
  {
    SQLite::Statement q(db, "SELECT COUNT(*) FROM deadline_alerts WHERE fire_at_us = ?");
    q.bind(1, burst_us);
    q.executeStep();
    fired = q.getColumn(0).getInt64();
  }
  // The deadlines' own bookkeeping follows the alerts (AdvanceFired): wait
  // until no burst deadline is left at its fired level, for the CPU of firing
  // and advancing together.
  double cpu_advanced = -1;
  absl::Duration advanced_after = absl::ZeroDuration();
  while (absl::Now() < burst_at + absl::Seconds(240)) {
    SQLite::Statement q(db, "SELECT COUNT(*) FROM deadlines WHERE next_fire_at_us = ?");
    q.bind(1, burst_us);
    q.executeStep();
    if (q.getColumn(0).getInt64() == 0) {
      cpu_advanced = CpuSeconds(pid) - cpu_before;
      advanced_after = absl::Now() - burst_at;
      break;
    }
    usleep(20000);  // a benchmark poll, not a test synchronisation
  }
  // With the log sink: wait until every burst alert's log delivery is
  // recorded, for the CPU of firing and logging together.
  double cpu_logged = -1;
  absl::Duration logged_after = absl::ZeroDuration();
  if (!no_log_sink) {
    while (absl::Now() < burst_at + absl::Seconds(240)) {
      const int64_t pending_log =
          db.execAndGet(
                "SELECT (SELECT MAX(seq) FROM deadline_alerts) - delivered_seq FROM "
                "deadline_alert_sinks WHERE sink = 'log'")
              .getInt64();
      if (pending_log == 0) {
        cpu_logged = CpuSeconds(pid) - cpu_before;
        logged_after = absl::Now() - burst_at;
        break;
      }
      usleep(50000);  // a benchmark poll, not a test synchronisation
    }
  }
  const int64_t rss_peak = ProcStatusKb(pid, "VmHWM");
  std::vector<int64_t> lateness;
  {
    SQLite::Statement q(db,
                        "SELECT fired_at_us - fire_at_us FROM deadline_alerts WHERE fire_at_us = ?");
    q.bind(1, burst_us);
    while (q.executeStep()) lateness.push_back(q.getColumn(0).getInt64());
  }
  std::sort(lateness.begin(), lateness.end());
  auto pct = [&](double p) -> double {
    if (lateness.empty()) return -1;
    size_t i = static_cast<size_t>(std::ceil(p / 100 * lateness.size())) - 1;
    return lateness[std::min(i, lateness.size() - 1)] / 1000.0;
  };
  const int64_t doubled =
      db.execAndGet("SELECT COUNT(*) - COUNT(DISTINCT tenant_id || '/' || deadline_id || '/' || "
                    "due_version || '/' || offset_us) FROM deadline_alerts")
          .getInt64();
  const int64_t other =
      db.execAndGet(absl::StrCat("SELECT COUNT(*) FROM deadline_alerts WHERE fire_at_us != ",
                                 burst_us))
          .getInt64();
  std::cout << absl::StrFormat(
      "burst of %d: fired %d, lost %d, doubled %d, unexpected %d\n"
      "lateness (fired_at - due instant): p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
      "all committed and visible %.0f ms after the instant\n"
      "committed and visible to a reader (poll every 10 ms): p50 %.0f ms, p99 %.0f ms\n"
      "dsard CPU time from the instant until all were visible: %.2f s (%.1f us per alert)\n"
      "load average before / after the burst: %.2f / %.2f\n"
      "dsard peak RSS %.1f MiB; dsard log lines %d (in <dir>/dsard.log)\n",
      burst, fired, std::max<int64_t>(0, burst - fired), doubled, other, pct(50), pct(99),
      pct(100), absl::ToDoubleMilliseconds(all_fired_at - burst_at),
      visible_at.size() >= 50 ? absl::ToDoubleMilliseconds(visible_at[49]) : -1.0,
      visible_at.size() >= 99 ? absl::ToDoubleMilliseconds(visible_at[98]) : -1.0, cpu_burst,
      burst > 0 ? cpu_burst * 1e6 / burst : 0.0, load_before[0], load_after[0],
      rss_peak / 1024.0, static_cast<int>(log_lines.load()));
  if (cpu_advanced >= 0) {
    std::cout << absl::StrFormat(
        "deadlines moved to their next level %.0f ms after the instant; dsard CPU for firing "
        "and advancing: %.2f s (%.1f us per alert)\n",
        absl::ToDoubleMilliseconds(advanced_after), cpu_advanced, cpu_advanced * 1e6 / burst);
  }
  {
    absl::MutexLock lock(&logged_mu);
    if (logged_at.size() >= 99) {
      std::cout << absl::StrFormat(
          "log sink: alert lines written p50 %.0f ms, p99 %.0f ms, all %.0f ms after the "
          "instant\n",
          absl::ToDoubleMilliseconds(logged_at[49] - burst_at),
          absl::ToDoubleMilliseconds(logged_at[98] - burst_at),
          absl::ToDoubleMilliseconds(logged_at.back() - burst_at));
    }
  }
  if (cpu_logged >= 0) {
    std::cout << absl::StrFormat(
        "log sink: every burst alert logged and recorded %.0f ms after the instant; dsard CPU "
        "for firing and logging: %.2f s (%.1f us per alert)\n",
        absl::ToDoubleMilliseconds(logged_after), cpu_logged, cpu_logged * 1e6 / burst);
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  reader.join();
  return fired == burst && doubled == 0 && other == 0 ? 0 : 1;
}
