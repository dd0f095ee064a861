#include "lib/audit/chain_verifier.h"

#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "lib/core/clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace dsar::audit {
namespace {

using ::dsar::testing::IsOk;

class ChainVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = ::dsar::testing::OpenKvStore(dir_.File("audit.db"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    Append(5);
  }

  void Append(int n) {
    for (int i = 0; i < n; ++i) {
      CallContext ctx;
      ctx.tenant = "tenant-a";
      ctx.principal = "svc-test";
      ctx.role = Role::kService;
      ctx.method = "/dsar.v1.ConsentService/RecordConsent";
      ASSERT_THAT(store_->WriteAndWait([&](store::WriteTxn& txn) {
        return audit::Append(txn, ctx, absl::StrCat("consents/c", ++appended_), "OK", clock_.Now());
      }),
                  IsOk());
    }
  }

  // One verification through `verifier`, waited for.
  VerifyResult Run(ChainVerifier& verifier, bool full) {
    absl::Notification done;
    absl::StatusOr<VerifyResult> out;
    verifier.Verify(full, [&](absl::StatusOr<VerifyResult> r) {
      out = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    EXPECT_THAT(out, IsOk());
    return out.ok() ? *out : VerifyResult{};
  }

  ::dsar::testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1767225600)};
  std::unique_ptr<store::Store> store_;
  int appended_ = 0;
};

TEST_F(ChainVerifierTest, FirstPassIsFullThenOnlyNewRowsAreHashed) {
  ChainVerifier verifier(store_.get());
  VerifyResult first = Run(verifier, /*full=*/false);
  EXPECT_TRUE(first.ok);
  EXPECT_EQ(first.from_seq, 1);
  EXPECT_EQ(first.rows_checked, 5);
  EXPECT_EQ(verifier.verified_seq(), 5);
  Append(3);
  VerifyResult next = Run(verifier, false);
  EXPECT_TRUE(next.ok) << next.reason;
  EXPECT_EQ(next.from_seq, 6);
  EXPECT_EQ(next.rows_checked, 3);
  VerifyResult nothing_new = Run(verifier, false);
  EXPECT_TRUE(nothing_new.ok);
  EXPECT_EQ(nothing_new.rows_checked, 0);
  VerifyResult full = Run(verifier, true);
  EXPECT_TRUE(full.ok);
  EXPECT_EQ(full.from_seq, 1);
  EXPECT_EQ(full.rows_checked, 8);
  EXPECT_EQ(full.head_hash, next.head_hash);
}

TEST_F(ChainVerifierTest, ANewRowNotChainedToTheVerifiedHeadIsFound) {
  ChainVerifier verifier(store_.get());
  ASSERT_TRUE(Run(verifier, false).ok);
  Append(2);
  {
    SQLite::Database db(dir_.File("audit.db"), SQLite::OPEN_READWRITE);
    db.exec("UPDATE audit_events SET resource = 'consents/forged' WHERE seq = 7");
  }
  VerifyResult broken = Run(verifier, false);
  EXPECT_FALSE(broken.ok);
  EXPECT_EQ(broken.first_bad_seq, 7);
  // The head does not move past a broken row: the next pass finds it again.
  EXPECT_EQ(verifier.verified_seq(), 5);
  EXPECT_FALSE(Run(verifier, false).ok);
}

TEST_F(ChainVerifierTest, AnOldRowAlteredAfterItWasVerifiedTakesAFullPass) {
  ChainVerifier verifier(store_.get());
  ASSERT_TRUE(Run(verifier, false).ok);
  {
    SQLite::Database db(dir_.File("audit.db"), SQLite::OPEN_READWRITE);
    db.exec("UPDATE audit_events SET outcome = 'PERMISSION_DENIED' WHERE seq = 2");
  }
  EXPECT_TRUE(Run(verifier, false).ok);  // incremental: row 2 is not read again
  VerifyResult full = Run(verifier, true);
  EXPECT_FALSE(full.ok);
  EXPECT_EQ(full.first_bad_seq, 2);
}

TEST_F(ChainVerifierTest, AfterStopCallsAreAnsweredUnavailable) {
  ChainVerifier verifier(store_.get());
  verifier.Stop();
  absl::StatusOr<VerifyResult> out;
  verifier.Verify(false, [&](absl::StatusOr<VerifyResult> r) { out = std::move(r); });
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace dsar::audit
