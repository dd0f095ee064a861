// Store: durable SQLite storage with one group-committing writer and a pool of
// read-only connections.
//
// Writes are functions queued to a single writer thread that owns the only
// write connection. The writer takes up to `max_group_size` queued writes,
// opens one transaction, runs each write inside its own SAVEPOINT (a failing
// write is rolled back alone and gets its own error), commits once with
// synchronous=FULL (fsync), and only then calls each write's completion. So a
// write is acknowledged only when it is durable, and one fsync is shared by the
// whole group. Reads run on pooled read-only connections inside a snapshot and
// see every acknowledged write (WAL mode).
//
// Each connection is used by one thread at a time (the writer's by the writer
// thread, a reader by the caller holding it), so connections are opened
// without SQLite's per-connection mutex.
//
// Thread-safe. Completions run, in commit order, on the store's completion
// thread (a second thread, so answering one group overlaps with the writer
// committing the next): keep them short and never block in them (e.g. finish
// a gRPC reactor, set a promise); never call Close() from one.
#ifndef DSAR_LIB_STORE_STORE_H_
#define DSAR_LIB_STORE_STORE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/store/migrations.h"
#include "lib/store/txn.h"

namespace dsar::store {

struct StoreOptions {
  std::string path;        // SQLite file; parent directory is created
  int read_pool_size = 4;  // read-only connections
  // How long Read waits for a free read connection before it answers
  // RESOURCE_EXHAUSTED (every connection busy, e.g. with long scans): a
  // caller is never queued without bound.
  absl::Duration read_acquire_timeout = absl::Seconds(2);
  // Read connections map up to this many bytes of the file (PRAGMA
  // mmap_size; SQLite caps it at ~2 GiB): reads of pages not in SQLite's own
  // small page cache then cost no pread and no copy, but every mapped page a
  // read touches (and its neighbours, by the kernel's fault-around) counts in
  // the process's RSS. 0 (default) disables.
  int64_t read_mmap_bytes = 0;
  int max_group_size = 512;      // writes per transaction
  int max_queue_depth = 100000;  // beyond this, Write answers RESOURCE_EXHAUSTED
  absl::Duration busy_timeout = absl::Seconds(5);
  // WAL checkpoints. SQLite's automatic one copies the WAL back into the
  // database file (and fsyncs it) inside the commit that takes the WAL past
  // 1,000 pages, while every queued write waits: the tail of a write's
  // latency at moderate load. So after a commit that leaves the writer with
  // nothing queued, it checkpoints when at least `idle_checkpoint_frames`
  // pages are not yet copied; the 1,000-page checkpoint stays as the bound
  // for a writer that is never idle. 0: the automatic checkpoints only.
  int idle_checkpoint_frames = 200;
  // Migrations to apply; defaults to DsarMigrations() when null.
  const std::vector<Migration>* migrations = nullptr;
};

// Counters for metrics and benchmarks.
struct WriterStats {
  int64_t writes_committed = 0;
  int64_t writes_failed = 0;
  int64_t groups_committed = 0;
  int64_t largest_group = 0;
  // Histograms over every group run (committed or not), for metrics: entry i
  // counts groups whose size is <= kGroupSizeBounds[i] (and above the bound
  // before); the last entry counts larger ones. Likewise for the time from
  // BEGIN to the end of COMMIT (fsync included), in seconds.
  static constexpr std::array<double, 11> kGroupSizeBounds = {1,  2,   4,   8,   16,  32,
                                                              64, 128, 256, 512, 1024};
  std::array<int64_t, 12> group_size_counts{};
  int64_t group_size_sum = 0;
  static constexpr std::array<double, 12> kCommitSecondsBounds = {
      0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 5};
  std::array<int64_t, 13> commit_seconds_counts{};
  double commit_seconds_sum = 0;
  // CPU time of the writer thread in those groups (BEGIN to the end of the
  // after-commit hooks): the writer is the one serial stage of every write,
  // so its CPU per write bounds the write rate even on an idle machine.
  double writer_cpu_seconds_sum = 0;
  // WAL checkpoints the writer ran while idle, and inside a commit (the WAL
  // at 1,000 pages).
  int64_t idle_checkpoints = 0;
  int64_t commit_checkpoints = 0;
};

using WriteFn = absl::AnyInvocable<absl::Status(WriteTxn&)>;
using WriteDone = absl::AnyInvocable<void(absl::Status)>;

class Store {
 public:
  // Opens (creating if needed) the database, sets WAL, synchronous=FULL,
  // foreign keys and busy timeout, applies pending migrations, starts the
  // writer. Errors: FAILED_PRECONDITION when the file's schema is newer than
  // this binary; UNAVAILABLE/INTERNAL when SQLite cannot open it.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);

  virtual ~Store() = default;

  // Queues `fn`; `done` receives fn's own error, or OK once the group holding
  // it is committed and fsync'd, or the commit's error. RESOURCE_EXHAUSTED
  // (queue full) and UNAVAILABLE (store closed) are delivered on the calling
  // thread before Write returns.
  virtual void Write(WriteFn fn, WriteDone done) = 0;

  // Write() and wait for the outcome.
  virtual absl::Status WriteAndWait(WriteFn fn) = 0;

  // Runs `fn` on a read-only connection inside one snapshot.
  virtual absl::Status Read(absl::FunctionRef<absl::Status(ReadTxn&)> fn) = 0;

  // Stops accepting writes, commits everything queued, stops the writer and
  // closes all connections. Idempotent; also done by the destructor.
  virtual void Close() = 0;

  // PRAGMA user_version after migrations.
  virtual int schema_version() const = 0;
  virtual WriterStats writer_stats() const = 0;
};

// Maps a caught SQLite error code (primary or extended) to a canonical status.
absl::Status SqliteError(int error_code, absl::string_view what);

}  // namespace dsar::store

#endif  // DSAR_LIB_STORE_STORE_H_
