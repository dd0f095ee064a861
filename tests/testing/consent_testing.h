// Helpers shared by the consent ledger's unit tests: waiting for a callback's
// answer, holding the store's writer so that writes queued meanwhile form one
// group (one transaction), and reading one number from the database.
#ifndef DSAR_TESTS_TESTING_CONSENT_TESTING_H_
#define DSAR_TESTS_TESTING_CONSENT_TESTING_H_

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "lib/store/store.h"

namespace dsar::testing {

// Runs `start(done)` and waits for the value `done` is called with.
template <typename T, typename Start>
absl::StatusOr<T> AwaitAnswer(Start start) {
  absl::StatusOr<T> answer;
  absl::Notification done;
  start([&](absl::StatusOr<T> r) {
    answer = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return answer;
}

// Holds the writer inside a write until `release` is notified; `held_done`
// is notified once that write is answered. Writes queued meanwhile run as one
// group, in one transaction.
inline void HoldWriter(store::Store& store, absl::Notification& release,
                       absl::Notification& held_done) {
  absl::Notification entered;
  store.Write(
      [&](store::WriteTxn&) {
        entered.Notify();
        release.WaitForNotification();
        return absl::OkStatus();
      },
      [&](absl::Status) { held_done.Notify(); });
  entered.WaitForNotification();
}

// The first column of the first row of `sql`, read in a snapshot; -1 (and a
// test failure) when the read fails.
inline int64_t ReadNumber(store::Store& store, const std::string& sql) {
  int64_t n = -1;
  absl::Status read = store.Read([&](store::ReadTxn& txn) {
    n = txn.db().execAndGet(sql).getInt64();
    return absl::OkStatus();
  });
  EXPECT_TRUE(read.ok()) << read;
  return n;
}

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_CONSENT_TESTING_H_
