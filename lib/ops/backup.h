// Online backups of dsard's SQLite database.
//
// BackupDatabase copies the database with SQLite's backup API from one read
// snapshot on a pooled read connection: in WAL mode the writer keeps
// committing meanwhile, and every write acknowledged before the call is in
// the copy. The copy is switched to a rollback journal (a single
// self-contained file), checked with PRAGMA quick_check and fsync'd.
//
// BackupManager runs backups one at a time on its own thread (a
// delivery::BackgroundLoop) — on request
// (AdminService.CreateBackup) and on a schedule — names them
// dsar-<UTC time>Z.db in one directory, writes "<name>.sha256" (sha256sum
// format) and "<name>.json" (the BackupInfo) next to each, keeps the newest
// `keep`, and appends an audit event per backup. A restore is a file copy
// with dsard stopped (docs/operations.md).
//
// Thread-safe.
#ifndef DSAR_LIB_OPS_BACKUP_H_
#define DSAR_LIB_OPS_BACKUP_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/call_context.h"
#include "lib/core/clock.h"
#include "lib/delivery/background_loop.h"
#include "lib/store/store.h"

namespace dsar::ops {

struct BackupInfo {
  std::string name;  // file name, e.g. "dsar-20260101T020000Z.db"
  std::string path;  // absolute path
  int64_t size_bytes = 0;
  std::string sha256;  // lower-case hex of the file
  absl::Time create_time;
  absl::Duration duration;
  int schema_version = 0;
  int64_t audit_head_seq = 0;   // last audit event in the copy
  std::string audit_head_hash;  // its hash ("" when the log is empty)
  std::string trigger;          // "manual" or "scheduled"
};

// Copies `store`'s database to `dest_path` (which must not exist) and fills
// size, sha256, schema version and audit head. UNAVAILABLE when the file
// cannot be written; DATA_LOSS when the copy fails its check.
absl::StatusOr<BackupInfo> BackupDatabase(store::Store& store, const std::string& dest_path);

struct BackupOptions {
  std::string directory;                           // created if missing
  int keep = 7;                                    // newest backups kept; 0 keeps all
  absl::Duration interval = absl::ZeroDuration();  // scheduled backups; zero: none
  int max_queued = 4;                              // waiting requests beyond: RESOURCE_EXHAUSTED
};

class BackupManager {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<BackupInfo>)>;
  struct Stats {
    int64_t succeeded = 0;
    int64_t failed = 0;
    absl::Time last_success = absl::InfinitePast();  // clock time of the last good backup
    absl::Duration last_duration;
    int64_t last_size_bytes = 0;
  };

  // `store` and `clock` (names and times of backups) must outlive the
  // manager. The schedule runs on real elapsed time.
  BackupManager(store::Store* store, Clock* clock, BackupOptions options);
  ~BackupManager();

  // Starts the worker thread (and the schedule). Idempotent.
  void Start();
  // Lets a running backup finish; queued requests get UNAVAILABLE. Idempotent.
  void Stop();

  // Queues a backup requested by `ctx` (audited under its principal and
  // tenant); `done` runs on the worker thread, or on the calling thread
  // before Create returns with RESOURCE_EXHAUSTED (queue full) or
  // UNAVAILABLE (stopped).
  void Create(const CallContext& ctx, Done done);
  absl::StatusOr<BackupInfo> CreateAndWait(const CallContext& ctx);

  // Backups in the directory (those with a manifest), newest first.
  absl::StatusOr<std::vector<BackupInfo>> List() const;

  const std::string& directory() const { return options_.directory; }
  Stats stats() const;
  // Waits until at least `n` backups have finished (succeeded or failed)
  // since start, or `timeout` passed; returns whether they had.
  bool WaitForFinished(int64_t n, absl::Duration timeout) const;

 private:
  struct Job {
    CallContext ctx;
    std::string trigger;
    Done done;
  };
  // One job from the queue, or the scheduled one when due; the wait until
  // the next scheduled backup.
  absl::Duration RunNext();
  absl::StatusOr<BackupInfo> Run(const Job& job);
  absl::StatusOr<std::string> FreshName() const;
  void Prune();
  void Audit(const Job& job, const std::string& resource, const absl::Status& outcome);

  store::Store* const store_;
  Clock* const clock_;
  const BackupOptions options_;

  mutable absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_scheduled_ ABSL_GUARDED_BY(mu_);  // real time
  Stats stats_ ABSL_GUARDED_BY(mu_);
  delivery::BackgroundLoop worker_;
};

}  // namespace dsar::ops

#endif  // DSAR_LIB_OPS_BACKUP_H_
