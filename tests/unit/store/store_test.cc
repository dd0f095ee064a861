#include "lib/store/store.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "lib/core/errors.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace dsar::store {
namespace {

using ::dsar::testing::InsertKv;
using ::dsar::testing::IsOk;
using ::dsar::testing::OpenKvStore;
using ::dsar::testing::StatusIs;
using ::testing::HasSubstr;

class StoreTest : public ::testing::Test {
 protected:
  std::string DbPath() const { return dir_.File("dsar.db"); }

  int64_t CountKv(Store& store) {
    int64_t count = -1;
    EXPECT_THAT(store.Read([&](ReadTxn& txn) {
      count = txn.db().execAndGet("SELECT count(*) FROM kv").getInt64();
      return absl::OkStatus();
    }),
                IsOk());
    return count;
  }

  bool HasKey(Store& store, int64_t k) {
    bool found = false;
    EXPECT_THAT(store.Read([&](ReadTxn& txn) {
      SQLite::Statement& q = txn.Prepare("SELECT 1 FROM kv WHERE k = ?");
      q.bind(1, static_cast<int64_t>(k));
      found = q.executeStep();
      return absl::OkStatus();
    }),
                IsOk());
    return found;
  }

  // Queues a write that holds the writer thread until `release` is notified,
  // and waits until the writer is inside it.
  void BlockWriter(Store& store, absl::Notification& release, absl::Notification& done) {
    absl::Notification entered;
    store.Write(
        [&](WriteTxn&) {
          entered.Notify();
          release.WaitForNotification();
          return absl::OkStatus();
        },
        [&](absl::Status) { done.Notify(); });
    entered.WaitForNotification();
  }

  ::dsar::testing::TempDir dir_;
};

TEST_F(StoreTest, ConcurrentWritesFromSixtyFourThreadsAreAllPresentAfterReopen) {
  constexpr int kThreads = 64;
  constexpr int kWritesPerThread = 1000;
  {
    auto store = OpenKvStore(DbPath());
    ASSERT_THAT(store, IsOk());
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kWritesPerThread; ++i) {
          if (!(*store)->WriteAndWait(InsertKv(int64_t{t} * kWritesPerThread + i)).ok()) {
            ++failures;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    WriterStats stats = (*store)->writer_stats();
    EXPECT_EQ(stats.writes_committed, kThreads * kWritesPerThread);
    // Grouping happened: far fewer commits than writes.
    EXPECT_LT(stats.groups_committed, stats.writes_committed / 2);
  }
  auto reopened = OpenKvStore(DbPath());
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ(CountKv(**reopened), kThreads * kWritesPerThread);
  int64_t distinct_sum = -1;
  ASSERT_THAT((*reopened)->Read([&](ReadTxn& txn) {
    distinct_sum = txn.db().execAndGet("SELECT sum(k) FROM kv").getInt64();
    return absl::OkStatus();
  }),
              IsOk());
  const int64_t n = int64_t{kThreads} * kWritesPerThread;
  EXPECT_EQ(distinct_sum, n * (n - 1) / 2);
}

TEST_F(StoreTest, FailingWriteInsideAGroupRollsBackAloneAndNeighboursCommit) {
  auto store = OpenKvStore(DbPath());
  ASSERT_THAT(store, IsOk());
  absl::Notification release, blocker_done;
  BlockWriter(**store, release, blocker_done);
  const int64_t groups_before = (*store)->writer_stats().groups_committed;

  absl::Status a, b, c;
  absl::Notification a_done, b_done, c_done;
  (*store)->Write(InsertKv(1), [&](absl::Status s) {
    a = s;
    a_done.Notify();
  });
  (*store)->Write(
      [](WriteTxn& txn) {
        // Half-writes, then fails: its insert must not survive.
        SQLite::Statement& insert = txn.Prepare("INSERT INTO kv (k, v) VALUES (?, ?)");
        insert.bind(1, int64_t{2});
        insert.bind(2, "partial");
        insert.exec();
        return absl::InvalidArgumentError("bad request");
      },
      [&](absl::Status s) {
        b = s;
        b_done.Notify();
      });
  // A constraint violation (duplicate key 1) thrown by SQLite inside the write.
  (*store)->Write(InsertKv(1, "duplicate"), [&](absl::Status s) {
    c = s;
    c_done.Notify();
  });
  absl::Status d;
  absl::Notification d_done;
  (*store)->Write(InsertKv(4), [&](absl::Status s) {
    d = s;
    d_done.Notify();
  });
  release.Notify();
  for (auto* n : {&blocker_done, &a_done, &b_done, &c_done, &d_done}) n->WaitForNotification();

  EXPECT_THAT(a, IsOk());
  EXPECT_THAT(b, StatusIs(absl::StatusCode::kInvalidArgument, "bad request"));
  EXPECT_THAT(c, StatusIs(absl::StatusCode::kAborted, HasSubstr("UNIQUE")));
  EXPECT_THAT(d, IsOk());
  EXPECT_TRUE(HasKey(**store, 1));
  EXPECT_FALSE(HasKey(**store, 2));
  EXPECT_TRUE(HasKey(**store, 4));
  EXPECT_EQ(CountKv(**store), 2);
  // The blocker's group plus exactly one group holding all four writes.
  EXPECT_EQ((*store)->writer_stats().groups_committed, groups_before + 2);
}

TEST_F(StoreTest, AfterCommitHooksRunInCommitOrderBeforeCompletionsAndOnlyForCommittedWrites) {
  auto store = OpenKvStore(DbPath());
  ASSERT_THAT(store, IsOk());
  absl::Notification release, blocker_done;
  BlockWriter(**store, release, blocker_done);

  // Touched by hooks (writer thread) and completions (completer thread); the
  // store orders them, the mutex only makes the test's reads well-defined.
  absl::Mutex mu;
  std::vector<std::string> seen;
  auto writing = [&](int64_t k, bool fail) {
    return [&, k, fail](WriteTxn& txn) -> absl::Status {
      SQLite::Statement& insert = txn.Prepare("INSERT INTO kv (k, v) VALUES (?, 'x')");
      insert.bind(1, k);
      insert.exec();
      txn.AfterCommit([&, k] {
        absl::MutexLock lock(&mu);
        seen.push_back(absl::StrCat("hook ", k));
      });
      if (fail) return absl::InvalidArgumentError("bad");
      return absl::OkStatus();
    };
  };
  absl::Notification last_done;
  for (int64_t k : {1, 2, 3}) {
    (*store)->Write(writing(k, /*fail=*/k == 2), [&, k](absl::Status s) {
      absl::MutexLock lock(&mu);
      seen.push_back(absl::StrCat("done ", k, " ", s.ok() ? "ok" : "failed"));
      if (k == 3) last_done.Notify();
    });
  }
  release.Notify();
  blocker_done.WaitForNotification();
  last_done.WaitForNotification();
  absl::MutexLock lock(&mu);
  EXPECT_THAT(
      seen, ::testing::ElementsAre("hook 1", "hook 3", "done 1 ok", "done 2 failed", "done 3 ok"));
}

TEST_F(StoreTest, ReadSeesEveryAcknowledgedWrite) {
  auto store = OpenKvStore(DbPath());
  ASSERT_THAT(store, IsOk());
  for (int i = 0; i < 50; ++i) {
    ASSERT_THAT((*store)->WriteAndWait(InsertKv(i)), IsOk());
    EXPECT_TRUE(HasKey(**store, i)) << i;
  }
}

TEST_F(StoreTest, AReadThatFindsEveryConnectionBusyIsResourceExhaustedAfterTheTimeout) {
  store::StoreOptions options;
  options.path = DbPath();
  options.read_pool_size = 1;
  options.read_acquire_timeout = absl::Milliseconds(50);
  options.migrations = &::dsar::testing::MigrationsWithKv();
  auto store = Store::Open(options);
  ASSERT_THAT(store, IsOk());
  absl::Notification holding, release;
  std::thread long_read([&] {
    EXPECT_THAT((*store)->Read([&](ReadTxn&) {
      holding.Notify();
      release.WaitForNotification();
      return absl::OkStatus();
    }),
                IsOk());
  });
  holding.WaitForNotification();
  absl::Status waited = (*store)->Read([](ReadTxn&) { return absl::OkStatus(); });
  EXPECT_THAT(waited, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(waited.message()), ::testing::HasSubstr("read connection"));
  release.Notify();
  long_read.join();
  EXPECT_THAT((*store)->Read([](ReadTxn&) { return absl::OkStatus(); }), IsOk());
}

TEST(SqliteErrorTest, AFullDiskIsUnavailableWithItsReasonOtherErrorsKeepTheirCodes) {
  absl::Status full = SqliteError(SQLITE_FULL, "commit: database or disk is full");
  EXPECT_THAT(full, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(ErrorReasonOf(full), "STORAGE_FULL");
  EXPECT_THAT(std::string(full.message()), ::testing::HasSubstr("storage full"));
  EXPECT_THAT(std::string(full.message()), ::testing::HasSubstr("database or disk is full"));
  EXPECT_THAT(SqliteError(SQLITE_IOERR, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(SqliteError(SQLITE_CONSTRAINT, "x"), StatusIs(absl::StatusCode::kAborted));
}

TEST_F(StoreTest, FullQueueAnswersResourceExhaustedWithoutWriting) {
  auto store = OpenKvStore(DbPath(), /*max_group_size=*/512, /*max_queue_depth=*/1);
  ASSERT_THAT(store, IsOk());
  absl::Notification release, blocker_done;
  BlockWriter(**store, release, blocker_done);
  absl::Notification queued_done;
  (*store)->Write(InsertKv(1), [&](absl::Status) { queued_done.Notify(); });
  absl::Status rejected;
  (*store)->Write(InsertKv(2), [&](absl::Status s) { rejected = s; });
  EXPECT_THAT(rejected, StatusIs(absl::StatusCode::kResourceExhausted));
  release.Notify();
  blocker_done.WaitForNotification();
  queued_done.WaitForNotification();
  EXPECT_TRUE(HasKey(**store, 1));
  EXPECT_FALSE(HasKey(**store, 2));
}

TEST_F(StoreTest, CloseCommitsQueuedWritesAndLaterWritesAreUnavailable) {
  auto store = OpenKvStore(DbPath());
  ASSERT_THAT(store, IsOk());
  std::atomic<int> ok{0};
  for (int i = 0; i < 100; ++i) {
    (*store)->Write(InsertKv(i), [&](absl::Status s) { ok += s.ok(); });
  }
  (*store)->Close();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_THAT((*store)->WriteAndWait(InsertKv(1000)), StatusIs(absl::StatusCode::kUnavailable));
  store->reset();
  auto reopened = OpenKvStore(DbPath());
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ(CountKv(**reopened), 100);
}

TEST_F(StoreTest, DatabaseIsInWalModeWithFullSync) {
  auto store = OpenKvStore(DbPath());
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->WriteAndWait([](WriteTxn& txn) {
    EXPECT_EQ(txn.db().execAndGet("PRAGMA journal_mode").getString(), "wal");
    EXPECT_EQ(txn.db().execAndGet("PRAGMA synchronous").getInt(), 2);  // FULL
    EXPECT_EQ(txn.db().execAndGet("PRAGMA foreign_keys").getInt(), 1);
    return absl::OkStatus();
  }),
              IsOk());
}

TEST_F(StoreTest, AnIdleWriterCheckpointsSmallAndABusyOneAtAThousandPages) {
  const std::string payload(3000, 'p');  // about a page per row
  auto open = [&](int idle_checkpoint_frames) {
    store::StoreOptions options;
    options.path = DbPath();
    options.migrations = &::dsar::testing::MigrationsWithKv();
    options.idle_checkpoint_frames = idle_checkpoint_frames;
    return Store::Open(options);
  };
  // One write at a time: after each commit the writer usually has nothing
  // queued. (Not always: the next write may arrive between a commit's answer
  // and the writer's look at its queue, more often on a loaded machine, so a
  // run of idle checks can be skipped. Only ~900 skipped in a row would let
  // the WAL reach 1,000 pages.)
  {
    auto store = open(20);
    ASSERT_THAT(store, IsOk());
    for (int k = 0; k < 1200; ++k) {
      ASSERT_THAT((*store)->WriteAndWait(InsertKv(k, payload)), IsOk());
    }
    const WriterStats stats = (*store)->writer_stats();
    EXPECT_GT(stats.idle_checkpoints, 0);
    EXPECT_EQ(stats.commit_checkpoints, 0);  // never 1,000 pages behind
    // The WAL restarts after each complete checkpoint, so its file never
    // grew to the ~1,200 pages written, nor to 1,000.
    EXPECT_LT(std::filesystem::file_size(DbPath() + "-wal"), 1000u * 4096);
  }
  // A writer with writes queued after every commit (one write holds it while
  // 1,200 queue up behind, committed in groups of up to 512): the WAL reaches
  // 1,000 pages and is checkpointed inside a commit.
  std::filesystem::remove(DbPath());
  std::filesystem::remove(DbPath() + "-wal");
  std::filesystem::remove(DbPath() + "-shm");
  {
    auto store = open(20);
    ASSERT_THAT(store, IsOk());
    absl::Notification release, held;
    BlockWriter(**store, release, held);
    absl::Mutex mu;
    int answered = 0;
    for (int k = 0; k < 1200; ++k) {
      (*store)->Write(InsertKv(k, payload), [&](absl::Status s) {
        EXPECT_THAT(s, IsOk());
        absl::MutexLock lock(&mu);
        ++answered;
      });
    }
    release.Notify();
    held.WaitForNotification();
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](int* n) { return *n == 1200; }, &answered));
    }
    const WriterStats stats = (*store)->writer_stats();
    EXPECT_GE(stats.commit_checkpoints, 1);
    EXPECT_EQ(CountKv(**store), 1200);
  }
  auto reopened = open(0);
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ(CountKv(**reopened), 1200);
}

class MigrationTest : public StoreTest {};

TEST_F(MigrationTest, ReopeningAppliesNothingTwice) {
  int version = 0;
  {
    auto store = OpenKvStore(DbPath());
    ASSERT_THAT(store, IsOk());
    version = (*store)->schema_version();
    EXPECT_EQ(version, static_cast<int>(::dsar::testing::MigrationsWithKv().size()));
  }
  for (int i = 0; i < 3; ++i) {
    auto store = OpenKvStore(DbPath());
    ASSERT_THAT(store, IsOk());
    EXPECT_EQ((*store)->schema_version(), version);
  }
  SQLite::Database db(DbPath(), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM schema_migrations").getInt(), version);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), version);
}

TEST_F(MigrationTest, NewerDatabaseThanBinaryIsRefusedClearly) {
  { ASSERT_THAT(OpenKvStore(DbPath()), IsOk()); }
  {
    SQLite::Database db(DbPath(), SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = 999");
  }
  EXPECT_THAT(OpenKvStore(DbPath()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST_F(MigrationTest, FailingMigrationLeavesTheDatabaseUntouched) {
  std::vector<Migration> broken = {
      {1, "ok", "CREATE TABLE first (x INTEGER)"},
      {2, "broken", "CREATE TABLE second (x INTEGER"},  // syntax error
  };
  StoreOptions options;
  options.path = DbPath();
  options.migrations = &broken;
  EXPECT_THAT(Store::Open(options), StatusIs(absl::StatusCode::kInternal));
  SQLite::Database db(DbPath(), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 0);
  EXPECT_FALSE(db.tableExists("first"));
}

}  // namespace
}  // namespace dsar::store
