#include "lib/store/store.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>
#include <time.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "lib/core/errors.h"
#include "lib/core/log.h"
#include "lib/core/private_files.h"
#include "lib/core/status_macros.h"

namespace dsar::store {

absl::Status SqliteError(int error_code, absl::string_view what) {
  std::string message = absl::StrCat("storage error: ", what);
  switch (error_code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_FULL:
      // A full disk is an outage to the caller: nothing of the call was
      // stored, and the same call succeeds once there is room again.
      return WithErrorInfo(absl::UnavailableError(absl::StrCat(
                               "storage full: the disk holding the database has no room (", what,
                               "); nothing of this call was stored; retry when space is back")),
                           "STORAGE_FULL");
    case SQLITE_CONSTRAINT:
      return absl::AbortedError(message);
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

namespace {

// CPU time the calling thread has used, in seconds.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Runs `fn`, turning SQLite (and any other) exceptions into a status.
template <typename Fn>
absl::Status Guard(absl::string_view what, Fn&& fn) {
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    return SqliteError(e.getExtendedErrorCode(), absl::StrCat(what, ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  }
}

struct PendingWrite {
  WriteFn fn;
  WriteDone done;
  absl::Status status;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const StoreOptions& options) : options_(options) {}
  ~SqliteStore() override { Close(); }

  absl::Status Init() {
    RETURN_IF_ERROR(Guard("open", [&] { return OpenWriter(); }));
    RETURN_IF_ERROR(Guard("migrate", [&] { return Migrate(); }));
    RETURN_IF_ERROR(Guard("open readers", [&] { return OpenReaders(); }));
    if (options_.idle_checkpoint_frames > 0) {
      // Replaces SQLite's automatic checkpoints on the writer's connection.
      sqlite3_wal_hook(writer_->db().getHandle(), &SqliteStore::AfterWalCommit, this);
    }
    completer_thread_ = std::thread([this] { CompleterLoop(); });
    writer_thread_ = std::thread([this] { WriterLoop(); });
    return absl::OkStatus();
  }

  void Write(WriteFn fn, WriteDone done) override {
    {
      absl::ReleasableMutexLock lock(&queue_mu_);
      if (closing_) {
        lock.Release();
        done(absl::UnavailableError("store is closed"));
        return;
      }
      if (static_cast<int>(queue_.size()) >= options_.max_queue_depth) {
        lock.Release();
        done(absl::ResourceExhaustedError("write queue is full; retry later"));
        return;
      }
      queue_.push_back(PendingWrite{std::move(fn), std::move(done), absl::OkStatus()});
    }
  }

  absl::Status WriteAndWait(WriteFn fn) override {
    absl::Notification finished;
    absl::Status result;
    Write(std::move(fn), [&](absl::Status s) {
      result = std::move(s);
      finished.Notify();
    });
    finished.WaitForNotification();
    return result;
  }

  absl::Status Read(absl::FunctionRef<absl::Status(ReadTxn&)> fn) override {
    absl::StatusOr<Connection*> acquired = AcquireReader();
    if (!acquired.ok()) return acquired.status();
    Connection* conn = *acquired;
    absl::Status status = Guard("read", [&]() -> absl::Status {
      conn->Exec("BEGIN");
      ReadTxn txn(*conn);
      absl::Status s = Guard("read", [&] { return fn(txn); });
      conn->ResetStatements();
      conn->Exec("COMMIT");
      return s;
    });
    conn->ResetStatements();
    if (!status.ok()) {
      // Leave the connection usable: end any transaction the error left open.
      Guard("read rollback", [&] {
        if (sqlite3_get_autocommit(conn->db().getHandle()) == 0) {
          conn->Exec("ROLLBACK");
        }
        return absl::OkStatus();
      }).IgnoreError();
    }
    ReleaseReader(conn);
    return status;
  }

  void Close() override {
    {
      absl::ReleasableMutexLock lock(&queue_mu_);
      if (closing_) {
        lock.Release();
        if (writer_thread_.joinable()) writer_thread_.join();
        if (completer_thread_.joinable()) completer_thread_.join();
        return;
      }
      closing_ = true;
    }
    // The writer drains the queue, then the completer answers every write.
    if (writer_thread_.joinable()) writer_thread_.join();
    if (completer_thread_.joinable()) completer_thread_.join();
    {
      absl::MutexLock lock(&readers_mu_);
      // Wait for readers in use to come back, then close them.
      readers_mu_.Await(absl::Condition(
          +[](SqliteStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->readers_mu_) {
            return static_cast<int>(s->free_readers_.size()) == s->reader_count_;
          },
          this));
      free_readers_.clear();
      readers_.clear();
      readers_closed_ = true;
    }
    writer_.reset();
  }

  int schema_version() const override { return schema_version_; }

  WriterStats writer_stats() const override {
    absl::MutexLock lock(&stats_mu_);
    return stats_;
  }

 private:
  // sqlite3_wal_hook, on the writer thread inside each COMMIT, with the WAL's
  // size in pages: SQLite's automatic checkpoint at 1,000 pages, plus the
  // bookkeeping for CheckpointIfIdle.
  static int AfterWalCommit(void* arg, sqlite3* db, const char* name, int wal_frames) {
    auto* store = static_cast<SqliteStore*>(arg);
    if (wal_frames < store->wal_frames_) store->wal_copied_frames_ = 0;  // the WAL restarted
    store->wal_frames_ = wal_frames;
    if (wal_frames >= kCommitCheckpointFrames) {
      store->Checkpoint(db, name);
      absl::MutexLock lock(&store->stats_mu_);
      ++store->stats_.commit_checkpoints;
    }
    return SQLITE_OK;
  }

  // After a commit, once its callers are handed to the completer: nothing
  // queued and enough uncopied WAL pages, so a small checkpoint now delays
  // no one (a write arriving meanwhile waits for a few hundred pages, not a
  // thousand).
  void CheckpointIfIdle() {
    if (options_.idle_checkpoint_frames <= 0 ||
        wal_frames_ - wal_copied_frames_ < options_.idle_checkpoint_frames) {
      return;
    }
    {
      absl::MutexLock lock(&queue_mu_);
      if (!queue_.empty()) return;
    }
    Checkpoint(writer_->db().getHandle(), "main");
    absl::MutexLock lock(&stats_mu_);
    ++stats_.idle_checkpoints;
  }

  // A PASSIVE checkpoint on the writer's connection (it fsyncs the WAL, then
  // the database file, as the automatic one does); a reader still using
  // older pages may leave some of them for the next one.
  void Checkpoint(sqlite3* db, const char* name) {
    int wal_frames = 0;
    int copied = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
    if (rc == SQLITE_OK) {
      wal_copied_frames_ = copied;
    } else if (rc != SQLITE_BUSY) {  // busy: another connection is checkpointing now
      log::Warn("wal_checkpoint_failed", {{"code", std::string(sqlite3_errstr(rc))}});
    }
  }

  static constexpr int kCommitCheckpointFrames = 1000;  // SQLite's default

  absl::Status OpenWriter() {
    // Once per process, before SQLite initialises (later calls are refused
    // harmlessly): no global allocation statistics, whose mutex every
    // sqlite3_malloc/free would otherwise take.
    static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)memstatus_off;
    std::filesystem::path path(options_.path);
    // The database and its WAL hold everything: owner-only (SQLite gives the
    // -wal and -shm files the database file's mode).
    if (path.has_parent_path()) {
      RETURN_IF_ERROR(CreatePrivateDirectories(path.parent_path().string()));
    }
    RETURN_IF_ERROR(EnsurePrivateFile(options_.path));
    auto db = std::make_unique<SQLite::Database>(
        options_.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
        static_cast<int>(absl::ToInt64Milliseconds(options_.busy_timeout)));
    db->exec("PRAGMA journal_mode=WAL");
    db->exec("PRAGMA synchronous=FULL");
    db->exec("PRAGMA foreign_keys=ON");
    // Each write runs in its own SAVEPOINT, whose statement journal holds the
    // original of every page the write touches; in memory it never spills to
    // a temporary file (a pwrite per page otherwise, once past 64 KiB).
    db->exec("PRAGMA temp_store=MEMORY");
    writer_ = std::make_unique<Connection>(std::move(db));
    return absl::OkStatus();
  }

  absl::Status Migrate() {
    const std::vector<Migration>& migrations =
        options_.migrations != nullptr ? *options_.migrations : DsarMigrations();
    int known = 0;
    for (const auto& m : migrations) {
      if (m.version != known + 1) {
        return absl::InternalError(absl::StrCat("migrations are not numbered 1..n at ", m.version));
      }
      known = m.version;
    }
    SQLite::Database& db = writer_->db();
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
          "name TEXT NOT NULL, applied_at_us INTEGER NOT NULL)");
      int current = db.execAndGet("PRAGMA user_version").getInt();
      if (current > known) {
        db.exec("ROLLBACK");
        return absl::FailedPreconditionError(
            absl::StrCat(options_.path, ": database schema version ", current,
                         " is newer than this dsard supports (", known, "); upgrade dsard"));
      }
      for (const auto& m : migrations) {
        if (m.version <= current) continue;
        db.exec(m.sql);
        SQLite::Statement record(db, "INSERT INTO schema_migrations VALUES (?, ?, ?)");
        record.bind(1, m.version);
        record.bind(2, m.name);
        record.bind(3, static_cast<int64_t>(absl::ToUnixMicros(absl::Now())));
        record.exec();
        log::Info("migration_applied", {{"version", m.version}, {"name", m.name}});
      }
      db.exec(absl::StrCat("PRAGMA user_version = ", known));
      db.exec("COMMIT");
    } catch (...) {
      try {
        db.exec("ROLLBACK");
      } catch (...) {
      }
      throw;
    }
    schema_version_ = known;
    return absl::OkStatus();
  }

  absl::Status OpenReaders() {
    absl::MutexLock lock(&readers_mu_);
    for (int i = 0; i < options_.read_pool_size; ++i) {
      auto db = std::make_unique<SQLite::Database>(
          options_.path, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX,
          static_cast<int>(absl::ToInt64Milliseconds(options_.busy_timeout)));
      if (options_.read_mmap_bytes > 0) {
        db->exec(absl::StrCat("PRAGMA mmap_size=", options_.read_mmap_bytes));
      }
      readers_.push_back(std::make_unique<Connection>(std::move(db)));
      free_readers_.push_back(readers_.back().get());
    }
    reader_count_ = options_.read_pool_size;
    return absl::OkStatus();
  }

  absl::StatusOr<Connection*> AcquireReader() {
    absl::MutexLock lock(&readers_mu_);
    const bool free = readers_mu_.AwaitWithTimeout(
        absl::Condition(
            +[](SqliteStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->readers_mu_) {
              return s->readers_closed_ || !s->free_readers_.empty();
            },
            this),
        options_.read_acquire_timeout);
    if (readers_closed_) return absl::UnavailableError("store is closed");
    if (!free) {
      return absl::ResourceExhaustedError(
          absl::StrCat("every read connection stayed busy for ",
                       absl::FormatDuration(options_.read_acquire_timeout), "; retry later"));
    }
    Connection* conn = free_readers_.back();
    free_readers_.pop_back();
    return conn;
  }

  void ReleaseReader(Connection* conn) {
    absl::MutexLock lock(&readers_mu_);
    free_readers_.push_back(conn);
  }

  // Takes the next group of queued writes in one lock acquisition; empty when
  // closing and drained.
  std::vector<PendingWrite> NextGroup() {
    absl::MutexLock lock(&queue_mu_);
    queue_mu_.Await(absl::Condition(
        +[](SqliteStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->queue_mu_) {
          return s->closing_ || !s->queue_.empty();
        },
        this));
    std::vector<PendingWrite> group;
    size_t n = std::min<size_t>(queue_.size(), options_.max_group_size);
    group.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return group;
  }

  void WriterLoop() {
    for (;;) {
      std::vector<PendingWrite> group = NextGroup();
      if (group.empty()) break;  // closing and nothing left
      CommitGroup(group);
      {
        absl::MutexLock lock(&completions_mu_);
        completions_.push_back(std::move(group));
      }
      CheckpointIfIdle();
    }
    absl::MutexLock lock(&completions_mu_);
    writer_done_ = true;
  }

  // Answers committed (or failed) groups in commit order. On its own thread
  // so that waking callers (or finishing gRPC calls) overlaps with the
  // writer running and fsyncing the next group instead of delaying it.
  void CompleterLoop() {
    std::deque<std::vector<PendingWrite>> batch;
    for (;;) {
      {
        absl::MutexLock lock(&completions_mu_);
        completions_mu_.Await(absl::Condition(
            +[](SqliteStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->completions_mu_) {
              return s->writer_done_ || !s->completions_.empty();
            },
            this));
        if (completions_.empty()) return;  // writer finished and all answered
        batch.swap(completions_);
      }
      for (auto& group : batch) {
        for (auto& w : group) w.done(std::move(w.status));
      }
      batch.clear();
    }
  }

  void CommitGroup(std::vector<PendingWrite>& group) {
    Connection& conn = *writer_;
    const absl::Time started = absl::Now();  // for the commit-latency histogram only
    const double cpu_started = ThreadCpuSeconds();
    absl::Status begin = Guard("begin", [&] {
      conn.Exec("BEGIN IMMEDIATE");
      return absl::OkStatus();
    });
    int64_t ok_count = 0;
    std::vector<WriteTxn::Hook> after_commit;  // of the writes that succeeded, in order
    if (begin.ok()) {
      // Set when a savepoint itself could not be opened, rolled back or
      // released: the transaction's state is unknown, so nothing commits.
      absl::Status broken;
      for (auto& w : group) {
        if (!broken.ok()) {
          w.status = broken;
          continue;
        }
        bool savepoint_closed = false;
        absl::Status outer = Guard("savepoint", [&]() -> absl::Status {
          conn.Exec("SAVEPOINT w");
          WriteTxn txn(conn);
          absl::Status s = Guard("write", [&] { return w.fn(txn); });
          conn.ResetStatements();
          if (!s.ok()) conn.Exec("ROLLBACK TO w");
          conn.Exec("RELEASE w");
          savepoint_closed = true;
          if (s.ok()) {
            for (auto& hook : txn.TakeHooks()) after_commit.push_back(std::move(hook));
          }
          return s;
        });
        if (!savepoint_closed) broken = absl::UnavailableError("storage error; retry");
        w.status = outer;
        if (w.status.ok()) ++ok_count;
        w.fn = nullptr;  // release captures before the commit
      }
      absl::Status commit = broken.ok() ? Guard("commit",
                                                [&] {
                                                  conn.Exec("COMMIT");
                                                  return absl::OkStatus();
                                                })
                                        : broken;
      if (!commit.ok()) {
        log::Error("writer_commit_failed", {{"code", absl::StatusCodeToString(commit.code())}});
        Guard("rollback", [&] {
          if (sqlite3_get_autocommit(conn.db().getHandle()) == 0) conn.Exec("ROLLBACK");
          return absl::OkStatus();
        }).IgnoreError();
        for (auto& w : group) {
          if (w.status.ok()) w.status = commit;
        }
        ok_count = 0;
      } else {
        for (auto& hook : after_commit) std::move(hook)();
      }
    } else {
      log::Error("writer_begin_failed", {{"code", absl::StatusCodeToString(begin.code())}});
      for (auto& w : group) w.status = begin;
    }
    {
      absl::MutexLock lock(&stats_mu_);
      stats_.writes_committed += ok_count;
      stats_.writes_failed += static_cast<int64_t>(group.size()) - ok_count;
      if (ok_count > 0) ++stats_.groups_committed;
      stats_.largest_group = std::max<int64_t>(stats_.largest_group, group.size());
      const double size = static_cast<double>(group.size());
      const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
      const auto& sizes = WriterStats::kGroupSizeBounds;
      const auto& times = WriterStats::kCommitSecondsBounds;
      ++stats_
            .group_size_counts[std::lower_bound(sizes.begin(), sizes.end(), size) - sizes.begin()];
      stats_.group_size_sum += static_cast<int64_t>(group.size());
      ++stats_.commit_seconds_counts[std::lower_bound(times.begin(), times.end(), seconds) -
                                     times.begin()];
      stats_.commit_seconds_sum += seconds;
      stats_.writer_cpu_seconds_sum += ThreadCpuSeconds() - cpu_started;
    }
  }

  const StoreOptions options_;
  std::unique_ptr<Connection> writer_;  // used by the writer thread only (and Init)
  // The WAL's size after the last commit, and how much of it the last
  // checkpoint copied, in pages (writer thread only).
  int wal_frames_ = 0;
  int wal_copied_frames_ = 0;
  std::thread writer_thread_;
  std::thread completer_thread_;
  int schema_version_ = 0;

  absl::Mutex queue_mu_;
  std::deque<PendingWrite> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool closing_ ABSL_GUARDED_BY(queue_mu_) = false;

  // Groups whose outcome is known (committed, or failed), oldest first.
  absl::Mutex completions_mu_;
  std::deque<std::vector<PendingWrite>> completions_ ABSL_GUARDED_BY(completions_mu_);
  bool writer_done_ ABSL_GUARDED_BY(completions_mu_) = false;

  absl::Mutex readers_mu_;
  std::vector<std::unique_ptr<Connection>> readers_ ABSL_GUARDED_BY(readers_mu_);
  std::vector<Connection*> free_readers_ ABSL_GUARDED_BY(readers_mu_);
  int reader_count_ ABSL_GUARDED_BY(readers_mu_) = 0;
  bool readers_closed_ ABSL_GUARDED_BY(readers_mu_) = false;

  mutable absl::Mutex stats_mu_;
  WriterStats stats_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("store path is empty");
  if (options.read_pool_size < 1 || options.max_group_size < 1 || options.max_queue_depth < 1) {
    return absl::InvalidArgumentError("store options must be positive");
  }
  auto store = std::make_unique<SqliteStore>(options);
  absl::Status status = store->Init();
  if (!status.ok()) return status;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace dsar::store
