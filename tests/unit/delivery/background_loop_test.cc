#include "lib/delivery/background_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"

namespace dsar::delivery {
namespace {

constexpr absl::Duration kLong = absl::Seconds(30);  // a test failure, never a wait

TEST(BackgroundLoopTest, RunsAPassAtStartAndThenOnlyWhenWoken) {
  std::atomic<int> runs{0};
  BackgroundLoop loop([&] {
    ++runs;
    return absl::InfiniteDuration();
  });
  loop.Start();
  ASSERT_TRUE(loop.WaitForPasses(1, kLong));
  loop.Wake();
  ASSERT_TRUE(loop.WaitForPasses(2, kLong));
  loop.Wake();
  ASSERT_TRUE(loop.WaitForPasses(3, kLong));
  loop.Stop();
  EXPECT_EQ(runs.load(), 3);
  EXPECT_EQ(loop.passes(), 3);
}

TEST(BackgroundLoopTest, APassThatAsksForNoWaitRunsAgainAtOnce) {
  // Without any Wake(): the pass's own answer drives the loop.
  std::atomic<int> runs{0};
  BackgroundLoop loop([&] { return ++runs < 5 ? absl::ZeroDuration() : absl::InfiniteDuration(); });
  loop.Start();
  ASSERT_TRUE(loop.WaitForPasses(5, kLong));
  loop.Stop();
  EXPECT_EQ(runs.load(), 5);
}

TEST(BackgroundLoopTest, FirstWaitDelaysTheFirstPassUntilWoken) {
  std::atomic<int> runs{0};
  BackgroundLoop loop(
      [&] {
        ++runs;
        return absl::InfiniteDuration();
      },
      absl::Hours(1));
  loop.Start();
  EXPECT_FALSE(loop.WaitForPasses(1, absl::ZeroDuration()));
  loop.Wake();
  ASSERT_TRUE(loop.WaitForPasses(1, kLong));
  EXPECT_EQ(runs.load(), 1);
}

TEST(BackgroundLoopTest, AWakeDuringAPassRunsOneMorePass) {
  absl::Notification in_pass, release;
  std::atomic<int> runs{0};
  BackgroundLoop loop([&] {
    if (++runs == 1) {
      in_pass.Notify();
      release.WaitForNotification();
    }
    return absl::InfiniteDuration();
  });
  loop.Start();
  in_pass.WaitForNotification();
  loop.Wake();  // while the first pass runs
  release.Notify();
  ASSERT_TRUE(loop.WaitForPasses(2, kLong));
  loop.Stop();
  EXPECT_EQ(runs.load(), 2);
}

TEST(BackgroundLoopTest, StopWaitsForTheRunningPassAndStartsNoOther) {
  absl::Notification in_pass, release;
  std::atomic<int> runs{0};
  std::atomic<bool> saw_stopping{false};
  BackgroundLoop* self = nullptr;
  BackgroundLoop slow([&] {
    ++runs;
    in_pass.Notify();
    release.WaitForNotification();
    saw_stopping = self->stopping();
    return absl::ZeroDuration();  // would run again at once if not stopping
  });
  self = &slow;
  slow.Start();
  in_pass.WaitForNotification();
  std::thread stopper([&] { slow.Stop(); });
  // Stop() has begun once stopping() says so; the pass is still held.
  while (!slow.stopping()) std::this_thread::yield();
  release.Notify();
  stopper.join();
  EXPECT_TRUE(saw_stopping.load());
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(slow.passes(), 1);
}

TEST(BackgroundLoopTest, StartAfterStopDoesNothingAndStopIsIdempotent) {
  std::atomic<int> runs{0};
  BackgroundLoop loop([&] {
    ++runs;
    return absl::InfiniteDuration();
  });
  loop.Stop();
  loop.Start();
  loop.Stop();
  EXPECT_EQ(runs.load(), 0);
  EXPECT_TRUE(loop.stopping());
}

}  // namespace
}  // namespace dsar::delivery
