// Kills a writing child process with SIGKILL at random moments and checks that
// every write it acknowledged survives, and that the database stays intact.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/temp_dir.h"

namespace {

// Reads newline-terminated keys from `fd` into `keys`; after `kill_after`
// lines, kills `pid` with SIGKILL, then drains the pipe until EOF (lines
// already written were acknowledged before the kill).
void CollectThenKill(int fd, pid_t pid, int kill_after, std::set<int64_t>& keys) {
  std::string pending;
  char buf[4096];
  int seen = 0;
  bool killed = false;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, n);
    size_t pos;
    while ((pos = pending.find('\n')) != std::string::npos) {
      int64_t key;
      ASSERT_TRUE(absl::SimpleAtoi(pending.substr(0, pos), &key));
      keys.insert(key);
      pending.erase(0, pos + 1);
      if (++seen >= kill_after && !killed) {
        kill(pid, SIGKILL);
        killed = true;
      }
    }
  }
  if (!killed) kill(pid, SIGKILL);
}

TEST(CrashTest, AcknowledgedWritesSurviveSigkillAtRandomMoments) {
  dsar::testing::TempDir dir;
  const std::string db_path = dir.File("crash.db");
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> kill_after(1, 4000);
  std::set<int64_t> acknowledged;
  constexpr int kRounds = 24;
  for (int round = 0; round < kRounds; ++round) {
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      dup2(pipe_fds[1], STDOUT_FILENO);
      close(pipe_fds[0]);
      close(pipe_fds[1]);
      std::string base = absl::StrCat(int64_t{round} * 100000000);
      execl(STORE_CRASH_CHILD_PATH, STORE_CRASH_CHILD_PATH, db_path.c_str(), base.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(pipe_fds[1]);
    const int target = kill_after(rng);
    CollectThenKill(pipe_fds[0], pid, target, acknowledged);
    close(pipe_fds[0]);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early, round " << round;
    EXPECT_EQ(WTERMSIG(wstatus), SIGKILL);

    SQLite::Database db(db_path, SQLite::OPEN_READWRITE);
    EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok") << "round " << round;
    SQLite::Statement q(db, "SELECT 1 FROM kv WHERE k = ?");
    int64_t missing = 0;
    for (int64_t key : acknowledged) {
      q.reset();
      q.bind(1, static_cast<int64_t>(key));
      if (!q.executeStep()) ++missing;
    }
    ASSERT_EQ(missing, 0) << "round " << round << ": acknowledged writes lost";
  }
  EXPECT_GT(acknowledged.size(), static_cast<size_t>(kRounds));
}

}  // namespace
