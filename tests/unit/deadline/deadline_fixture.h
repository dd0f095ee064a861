// Shared fixture for deadline tests: a real Store on a temporary SQLite file,
// a FakeClock and a Deadlines object, plus helpers that read back what the
// engine wrote.
#ifndef DSAR_TESTS_UNIT_DEADLINE_DEADLINE_FIXTURE_H_
#define DSAR_TESTS_UNIT_DEADLINE_DEADLINE_FIXTURE_H_

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/core/clock.h"
#include "lib/deadline/alerts.h"
#include "lib/deadline/deadlines.h"
#include "lib/store/store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace dsar::deadline::testing {

inline constexpr char kTenant[] = "tenant-0001";

class DeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenStore();
    auto d = Deadlines::Create(options_);
    ASSERT_TRUE(d.ok()) << d.status();
    deadlines_ = std::move(*d);
  }

  void OpenStore() {
    store::StoreOptions options;
    options.path = dir_.File("dsar.db");
    auto s = store::Store::Open(options);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  // Closes and reopens the database file (a restart).
  void ReopenStore() {
    store_->Close();
    store_.reset();
    OpenStore();
  }

  absl::StatusOr<Deadline> Schedule(const std::string& resource, const std::string& kind,
                                    absl::Time start, const std::string& tenant = kTenant) {
    absl::StatusOr<Deadline> out = absl::UnknownError("not run");
    absl::Status s = store_->WriteAndWait([&](store::WriteTxn& txn) {
      out = deadlines_->Schedule(txn, ScheduleRequest{tenant, kind, resource, start}, clock_.Now());
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }

  // Runs `fn` in a write transaction and returns its deadline.
  template <typename Fn>
  absl::StatusOr<Deadline> Mutate(Fn fn) {
    absl::StatusOr<Deadline> out = absl::UnknownError("not run");
    absl::Status s = store_->WriteAndWait([&](store::WriteTxn& txn) {
      out = fn(txn);
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }

  DeadlineKey Key(const std::string& resource, const std::string& kind,
                  const std::string& tenant = kTenant) {
    return DeadlineKey{tenant, kind, resource};
  }

  absl::StatusOr<Deadline> Find(const DeadlineKey& key) {
    absl::StatusOr<Deadline> out = absl::UnknownError("not run");
    absl::Status s = store_->Read([&](store::ReadTxn& txn) {
      out = deadlines_->Find(txn, key);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }

  // Every alert of `tenant`, in seq order.
  std::vector<Alert> Alerts(const std::string& tenant = kTenant) {
    std::vector<Alert> out;
    absl::Status s = store_->Read([&](store::ReadTxn& txn) -> absl::Status {
      auto a = ListAlertsAfter(txn, tenant, 0, 100000);
      if (!a.ok()) return a.status();
      out = std::move(*a);
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  int64_t CountRows(const std::string& sql) {
    int64_t n = -1;
    absl::Status s = store_->Read([&](store::ReadTxn& txn) {
      SQLite::Statement& q = txn.Prepare(sql);
      if (q.executeStep()) n = q.getColumn(0).getInt64();
      q.reset();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return n;
  }

  ::dsar::testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1767225600)};  // 2026-01-01T00:00:00Z
  DeadlineOptions options_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Deadlines> deadlines_;
};

}  // namespace dsar::deadline::testing

#endif  // DSAR_TESTS_UNIT_DEADLINE_DEADLINE_FIXTURE_H_
