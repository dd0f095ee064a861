// Deadline engine under a burst, inside a real dsard process (issue 5):
//
//   deadline/burst              --deadline_pending open deadlines whose alert
//                               levels are 2-32 days away, and
//                               --deadline_burst deadlines whose first alert
//                               level falls on one instant T, seeded
//                               --deadline_lead_s before T; then dsard starts
//                               on that database (log sink on) and the burst
//                               fires at T.
//   deadline/burst/no_log_sink  the same without the log sink.
//
// Rate: burst alerts committed per second from T. p50_us / p99_us: their
// lateness, fired_at - T (the target is p99 < 1 s, docs/deadlines.md), with
// lost, doubled and unexpected alerts as errors. Also start-up to dsard's
// "ready", its RSS at ready and peak, dsard's CPU per alert until every alert
// was visible, until the deadlines had moved on to their next level and (with
// the log sink) until every alert's log delivery was recorded. Not an RPC
// path: the figures are absolute, not a ratio to echo.
//
// The pending deadlines are seeded once per count and kept under
// --deadline_cache_dir (default <store_dir>/dsar-bench-deadline-cache); a run
// copies the file. dsard runs on the real clock, so this benchmark waits for
// T and polls a read-only connection every 10 ms to see the alerts commit (a
// measurement poll: it times what dsard does on its own). Synthetic ids only.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/kinds.h"
#include "lib/store/store.h"
#include "tests/testing/temp_dir.h"
#include "tools/bench/bench_config.h"
#include "tools/bench/report.h"
#include "tools/bench/watched_process.h"

namespace dsar::bench {
namespace {

using deadline::Deadlines;
using deadline::ScheduleRequest;

constexpr absl::Duration kStartTimeout = absl::Minutes(2);
constexpr absl::Duration kPoll = absl::Milliseconds(10);

// Schedules `n` deadlines, 2000 per write, up to 8 writes in flight.
absl::Status Seed(store::Store& store, const Deadlines& deadlines, int64_t n,
                  const std::function<ScheduleRequest(int64_t)>& make) {
  constexpr int64_t kPerWrite = 2000;
  absl::Mutex mu;
  int in_flight = 0;
  absl::Status first_error;
  for (int64_t first = 0; first < n; first += kPerWrite) {
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](int* f) { return *f < 8; }, &in_flight));
      if (!first_error.ok()) break;
      ++in_flight;
    }
    const int64_t last = std::min(n, first + kPerWrite);
    store.Write(
        [&, first, last](store::WriteTxn& txn) -> absl::Status {
          const absl::Time now = absl::Now();
          for (int64_t i = first; i < last; ++i) {
            auto d = deadlines.Schedule(txn, make(i), now);
            if (!d.ok()) return d.status();
          }
          return absl::OkStatus();
        },
        [&](absl::Status s) {
          absl::MutexLock lock(&mu);
          if (!s.ok() && first_error.ok()) first_error = s;
          --in_flight;
        });
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](int* f) { return *f == 0; }, &in_flight));
  return first_error;
}

// Pending deadlines of tenant-00..19, due 72 h to 30 days after `t0`.
ScheduleRequest Pending(int64_t i, int64_t count, absl::Time t0) {
  const absl::Time due = t0 + absl::Hours(72) + absl::Seconds(i * (30LL * 86400) / count);
  return ScheduleRequest{absl::StrFormat("tenant-%02d", i % 20), deadline::kRequestProcessor,
                         absl::StrFormat("privacyRequests/bench-%07d", i), due - absl::Hours(72),
                         due};
}

// Copies the cached database of `count` pending deadlines to `db_path`,
// seeding (and caching) it first when there is none.
absl::Status PendingDatabase(const std::string& cache_dir, int64_t count,
                             const std::string& db_path) {
  const std::string cached = absl::StrCat(cache_dir, "/pending-", count, ".db");
  std::error_code ec;
  if (!std::filesystem::exists(cached)) {
    std::filesystem::create_directories(cache_dir, ec);
    const std::string seeding = cached + ".seeding";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(seeding + suffix, ec);
    store::StoreOptions options;
    options.path = seeding;
    auto store = store::Store::Open(options);
    if (!store.ok()) return store.status();
    auto deadlines = Deadlines::Create({});
    if (!deadlines.ok()) return deadlines.status();
    const absl::Time t0 = absl::Now();
    absl::Status seeded =
        Seed(**store, **deadlines, count, [&](int64_t i) { return Pending(i, count, t0); });
    (*store)->Close();  // the last connection checkpoints the WAL into the file
    if (!seeded.ok()) return seeded;
    std::filesystem::rename(seeding, cached, ec);  // only complete seeds are cached
    if (ec) return absl::InternalError(absl::StrCat("cannot cache ", cached, ": ", ec.message()));
  }
  {
    // A cache seeded by an older binary is migrated once, here, so that
    // dsard's measured start-up is not a migration.
    store::StoreOptions options;
    options.path = cached;
    auto store = store::Store::Open(options);
    if (!store.ok()) return store.status();
    (*store)->Close();
  }
  std::filesystem::copy_file(cached, db_path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot copy ", cached, ": ", ec.message()));
  return absl::OkStatus();
}

int64_t QueryInt(SQLite::Database& db, const std::string& sql, int64_t bind = 0) {
  SQLite::Statement q(db, sql);
  if (q.getBindParameterCount() > 0) q.bind(1, bind);
  return q.executeStep() ? q.getColumn(0).getInt64() : -1;
}

// Polls `done` every kPoll until it holds or `until`; the time it held, or
// nullopt.
std::optional<absl::Time> PollUntil(const std::function<bool()>& done, absl::Time until) {
  while (absl::Now() < until) {
    if (done()) return absl::Now();
    absl::SleepFor(kPoll);  // a measurement poll of dsard's own progress
  }
  return std::nullopt;
}

void BM_Burst(benchmark::State& state, bool log_sink) {
  const BenchConfig& config = Config();
  testing::TempDir dir(config.store_dir);
  if (dir.path().empty()) return Fail(state, absl::UnavailableError("no scratch directory"));
  const std::string db_path = dir.path() + "/dsar.db";
  const int64_t burst = config.deadline_burst;
  // The smoke run's few pending deadlines are seeded afresh, not cached.
  const std::string cache_dir = config.smoke ? dir.path() + "/cache" : config.deadline_cache_dir;
  if (absl::Status s = PendingDatabase(cache_dir, config.deadline_pending, db_path); !s.ok()) {
    return Fail(state, s);
  }
  // The burst: every first alert level ("T-24h" of a 72-hour breach
  // notification) falls on `burst_at`.
  const absl::Time burst_at = absl::Now() + config.deadline_lead;
  {
    store::StoreOptions options;
    options.path = db_path;
    auto store = store::Store::Open(options);
    if (!store.ok()) return Fail(state, store.status());
    auto deadlines = Deadlines::Create({});
    if (!deadlines.ok()) return Fail(state, deadlines.status());
    absl::Status seeded = Seed(**store, **deadlines, burst, [&](int64_t i) {
      const absl::Time due = burst_at + absl::Hours(24);
      return ScheduleRequest{absl::StrFormat("tenant-%02d", i % 20),
                             deadline::kBreachControllerNotification,
                             absl::StrFormat("breaches/bench-%07d", i), due - absl::Hours(72), due};
    });
    (*store)->Close();
    if (!seeded.ok()) return Fail(state, seeded);
  }
  if (absl::Now() > burst_at - absl::Seconds(2)) {
    return Fail(state, absl::DeadlineExceededError(
                           "seeding the burst took too long; raise --deadline_lead_s"));
  }
  const std::string config_path = dir.path() + "/dsard.textproto";
  std::ofstream(config_path) << "listen_address: \"127.0.0.1:0\"\ninsecure_loopback: true\n"
                             << "database_path: \"" << db_path << "\"\n"
                             << (log_sink ? "" : "deadline { disable_log_sink: true }\n");

  for (auto _ : state) {
    const absl::Time spawn = absl::Now();
    WatchedProcess dsard({config.dsard_path, "--config", config_path}, {});
    if (dsard.AwaitReady(kStartTimeout) == 0) {
      return Fail(state, absl::UnavailableError("dsard did not start"));
    }
    const absl::Duration startup = absl::Now() - spawn;
    const int64_t rss_ready = dsard.StatusKb("VmRSS");
    if (absl::Now() > burst_at - absl::Milliseconds(200)) {
      return Fail(state, absl::DeadlineExceededError(
                             "dsard started after the burst's instant; raise --deadline_lead_s"));
    }
    absl::SleepFor(burst_at - absl::Milliseconds(200) - absl::Now());  // until just before T
    const double cpu_before = dsard.CpuSeconds();
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    db.exec("PRAGMA busy_timeout = 5000");
    const int64_t burst_us = absl::ToUnixMicros(burst_at);
    const int64_t seq_before = QueryInt(db, "SELECT COALESCE(MAX(seq), 0) FROM deadline_alerts");
    // Burst alerts are the only alerts: MAX(seq) is a cheap primary-key seek.
    auto all_visible = PollUntil(
        [&] {
          return QueryInt(db, "SELECT COALESCE(MAX(seq), 0) FROM deadline_alerts") - seq_before >=
                 burst;
        },
        burst_at + absl::Minutes(2));
    const double cpu_visible = dsard.CpuSeconds() - cpu_before;
    // Then, each timed when it first holds: the deadlines moved on to their
    // next level (AdvanceFired), and (log sink) every alert's delivery
    // recorded.
    std::optional<absl::Time> advanced, logged;
    double cpu_advanced = -1, cpu_logged = -1;
    PollUntil(
        [&] {
          if (!advanced && QueryInt(db, "SELECT COUNT(*) FROM deadlines WHERE next_fire_at_us = ?",
                                    burst_us) == 0) {
            advanced = absl::Now();
            cpu_advanced = dsard.CpuSeconds() - cpu_before;
          }
          if (log_sink && !logged &&
              QueryInt(db,
                       "SELECT (SELECT MAX(seq) FROM deadline_alerts) - delivered_seq "
                       "FROM deadline_alert_sinks WHERE sink = 'log'") == 0) {
            logged = absl::Now();
            cpu_logged = dsard.CpuSeconds() - cpu_before;
          }
          return advanced.has_value() && (logged.has_value() || !log_sink);
        },
        burst_at + absl::Minutes(4));
    const int64_t rss_peak = dsard.StatusKb("VmHWM");

    std::vector<int64_t> lateness_us;
    {
      SQLite::Statement q(
          db, "SELECT fired_at_us - fire_at_us FROM deadline_alerts WHERE fire_at_us = ?");
      q.bind(1, burst_us);
      while (q.executeStep()) lateness_us.push_back(q.getColumn(0).getInt64());
    }
    std::sort(lateness_us.begin(), lateness_us.end());
    auto pct = [&](double p) -> double {
      if (lateness_us.empty()) return -1;
      const size_t i = static_cast<size_t>(std::ceil(p * static_cast<double>(lateness_us.size())));
      return static_cast<double>(
          lateness_us[std::min(std::max<size_t>(i, 1), lateness_us.size()) - 1]);
    };
    const auto fired = static_cast<int64_t>(lateness_us.size());
    const int64_t doubled = QueryInt(
        db,
        "SELECT COUNT(*) - COUNT(DISTINCT tenant_id || '/' || deadline_id || '/' || due_version "
        "|| '/' || offset_us) FROM deadline_alerts");
    const int64_t unexpected =
        QueryInt(db, "SELECT COUNT(*) FROM deadline_alerts WHERE fire_at_us != ?", burst_us);
    const int64_t lost = std::max<int64_t>(0, burst - fired);
    dsard.Stop();

    const double visible_s = all_visible ? absl::ToDoubleSeconds(*all_visible - burst_at) : -1.0;
    state.SetIterationTime(std::max(visible_s, 1e-6));
    state.SetItemsProcessed(fired);
    state.counters["ok"] = static_cast<double>(fired);
    state.counters["errors"] = static_cast<double>(lost + doubled + unexpected);
    state.counters["lost"] = static_cast<double>(lost);
    state.counters["doubled"] = static_cast<double>(doubled);
    state.counters["p50_us"] = pct(0.50);
    state.counters["p99_us"] = pct(0.99);
    state.counters["max_lateness_ms"] = pct(1.0) / 1000;
    state.counters["all_visible_ms"] = 1000 * visible_s;
    state.counters["startup_ms"] = absl::ToDoubleMilliseconds(startup);
    state.counters["rss_ready_mib"] = static_cast<double>(rss_ready) / 1024;
    state.counters["rss_peak_mib"] = static_cast<double>(rss_peak) / 1024;
    state.counters["cpu_us_per_alert"] = fired > 0 ? 1e6 * cpu_visible / fired : 0;
    if (advanced) {
      state.counters["advanced_ms"] = absl::ToDoubleMilliseconds(*advanced - burst_at);
      state.counters["cpu_us_per_alert_advanced"] = fired > 0 ? 1e6 * cpu_advanced / fired : 0;
    }
    if (logged) {
      state.counters["logged_ms"] = absl::ToDoubleMilliseconds(*logged - burst_at);
      state.counters["cpu_us_per_alert_logged"] = fired > 0 ? 1e6 * cpu_logged / fired : 0;
    }
    const bool met = pct(0.99) >= 0 && pct(0.99) < 1e6;
    state.SetLabel(absl::StrFormat(
        "%d pending, %d at one instant%s; lateness p99 %.1f ms vs target < 1000 ms: %s; lost %d, "
        "doubled %d; start-up %.0f ms, RSS %.1f -> %.1f MiB",
        config.deadline_pending, burst, log_sink ? ", log sink" : "", pct(0.99) / 1000,
        met ? "met" : "NOT met", lost, doubled, absl::ToDoubleMilliseconds(startup),
        rss_ready / 1024.0, rss_peak / 1024.0));
    if (!all_visible || lost + doubled + unexpected > 0) {
      return Fail(state, absl::DataLossError(absl::StrCat("burst of ", burst, ": ", fired,
                                                          " fired, ", doubled, " doubled, ",
                                                          unexpected, " unexpected")));
    }
  }
}

}  // namespace

void RegisterDeadlineBenchmarks() {
  RegisterOnce("deadline/burst", [](benchmark::State& s) { BM_Burst(s, true); });
  RegisterOnce("deadline/burst/no_log_sink", [](benchmark::State& s) { BM_Burst(s, false); });
}

}  // namespace dsar::bench
