// Durable single-row write throughput of lib/store with concurrent
// submitters (default 64), on a real SQLite file (WAL, synchronous=FULL)
// under a fresh temporary directory: grouped (up to 512 writes per fsync'd
// transaction, dsard's default) vs one transaction per write.
#include <SQLiteCpp/Statement.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/store/store.h"
#include "tools/bench/bench_config.h"
#include "tools/bench/report.h"
#include "tools/bench/store_load.h"

namespace dsar::bench {
namespace {

const std::vector<store::Migration>& BenchMigrations() {
  static const std::vector<store::Migration>* const migrations =
      new std::vector<store::Migration>{
          {1, "bench_writes",
           "CREATE TABLE bench_writes (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, "
           "submitter INTEGER NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL, "
           "created_at_us INTEGER NOT NULL)"}};
  return *migrations;
}

// A directory under `parent`, removed with its contents at destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& parent) {
    std::string tmpl = parent + "/dsar-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void BM_StoreWrite(benchmark::State& state, int max_group_size) {
  const BenchConfig& config = Config();
  ScratchDir dir(config.store_dir);
  if (dir.path().empty()) {
    return Fail(state, absl::UnavailableError(absl::StrCat("cannot create a directory under ",
                                                           config.store_dir)));
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

}  // namespace

void RegisterStoreBenchmarks() {
  RegisterOnce("store_write/grouped", [](benchmark::State& s) { BM_StoreWrite(s, 512); });
  RegisterOnce("store_write/per_write", [](benchmark::State& s) { BM_StoreWrite(s, 1); });
}

}  // namespace dsar::bench
