// Durable single-row write throughput of lib/store with concurrent
// submitters (default 64), on a real SQLite file (WAL, synchronous=FULL)
// under a fresh temporary directory: grouped (up to 512 writes per fsync'd
// transaction, dsard's default) vs one transaction per write. `disk/fdatasync`
// measures the raw sync rate of the same directory as a reference point.
#include <SQLiteCpp/Statement.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/store/store.h"
#include "tests/testing/temp_dir.h"
#include "tools/bench/bench_config.h"
#include "tools/bench/latency_histogram.h"
#include "tools/bench/report.h"
#include "tools/bench/store_load.h"

namespace dsar::bench {
namespace {

const std::vector<store::Migration>& BenchMigrations() {
  static const std::vector<store::Migration>* const migrations = new std::vector<store::Migration>{
      {1, "bench_writes",
       "CREATE TABLE bench_writes (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, "
       "submitter INTEGER NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL, "
       "created_at_us INTEGER NOT NULL)"}};
  return *migrations;
}

void BM_StoreWrite(benchmark::State& state, int max_group_size) {
  const BenchConfig& config = Config();
  testing::TempDir dir(config.store_dir);
  if (dir.path().empty()) {
    return Fail(state, absl::UnavailableError(
                           absl::StrCat("cannot create a directory under ", config.store_dir)));
  }
  store::StoreOptions options;
  options.path = dir.path() + "/bench.db";
  options.max_group_size = max_group_size;
  options.migrations = &BenchMigrations();
  absl::StatusOr<std::unique_ptr<store::Store>> store = store::Store::Open(options);
  if (!store.ok()) return Fail(state, store.status());

  const std::string payload(64, 'p');
  auto make_write = [&payload](int submitter, int64_t seq) -> store::WriteFn {
    return [&payload, submitter, seq](store::WriteTxn& txn) {
      SQLite::Statement& insert = txn.Prepare(
          "INSERT INTO bench_writes (tenant_id, submitter, seq, payload, created_at_us) "
          "VALUES (?, ?, ?, ?, ?)");
      insert.bind(1, "tenant-bench");
      insert.bind(2, submitter);
      insert.bind(3, static_cast<int64_t>(seq));
      insert.bind(4, payload);
      insert.bind(5, static_cast<int64_t>(absl::ToUnixMicros(absl::Now())));
      insert.exec();
      return absl::OkStatus();
    };
  };
  for (auto _ : state) {
    StoreLoadResult result = RunStoreLoad(**store, make_write, config.StoreLoad());
    ReportStoreLoad(state, result);
    state.counters["max_group_size"] = max_group_size;
    state.counters["submitters"] = config.submitters;
  }
  (*store)->Close();
}

// One thread overwriting 4 KiB blocks of a preallocated 1 MiB file, each
// followed by fdatasync: the ceiling for one-transaction-per-write.
void BM_Fdatasync(benchmark::State& state) {
  const BenchConfig& config = Config();
  testing::TempDir dir(config.store_dir);
  std::string path = dir.path() + "/fsync.bin";
  int fd = dir.path().empty() ? -1 : open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Fail(state, absl::UnavailableError(absl::StrCat("open: ", strerror(errno))));
  constexpr int kBlock = 4096;
  constexpr int kBlocks = 256;
  std::string block(kBlock, 'f');
  bool io_ok = true;
  for (int i = 0; i < kBlocks && io_ok; ++i) {
    io_ok = pwrite(fd, block.data(), kBlock, static_cast<off_t>(i) * kBlock) == kBlock;
  }
  io_ok = io_ok && fsync(fd) == 0;
  using Clock = std::chrono::steady_clock;
  auto nanos = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  };
  for (auto _ : state) {
    LatencyHistogram latency;
    int64_t syncs = 0;
    const Clock::time_point begin = Clock::now();
    const Clock::time_point end = begin + absl::ToChronoNanoseconds(config.store_duration);
    Clock::time_point now = begin;
    while (io_ok && now < end && (config.max_writes == 0 || syncs < config.max_writes)) {
      off_t offset = static_cast<off_t>(syncs % kBlocks) * kBlock;
      io_ok = pwrite(fd, block.data(), kBlock, offset) == kBlock && fdatasync(fd) == 0;
      Clock::time_point after = Clock::now();
      latency.Record(nanos(after - now));
      now = after;
      ++syncs;
    }
    double seconds = static_cast<double>(nanos(now - begin)) / 1e9;
    state.SetIterationTime(seconds);
    state.counters["items_per_second"] = seconds > 0 ? syncs / seconds : 0;
    state.counters["ok"] = static_cast<double>(syncs);
    state.counters["errors"] = io_ok ? 0 : 1;
    state.counters["p50_us"] = absl::ToDoubleMicroseconds(latency.Percentile(0.5));
    state.counters["p99_us"] = absl::ToDoubleMicroseconds(latency.Percentile(0.99));
  }
  close(fd);
  if (!io_ok)
    Fail(state, absl::UnavailableError(absl::StrCat("write/fdatasync: ", strerror(errno))));
}

}  // namespace

void RegisterStoreBenchmarks() {
  RegisterOnce("disk/fdatasync", BM_Fdatasync);
  RegisterOnce("store_write/grouped", [](benchmark::State& s) { BM_StoreWrite(s, 512); });
  RegisterOnce("store_write/per_write", [](benchmark::State& s) { BM_StoreWrite(s, 1); });
}

}  // namespace dsar::bench
