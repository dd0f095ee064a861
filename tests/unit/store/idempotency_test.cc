#include "lib/store/idempotency.h"

#include <SQLiteCpp/Statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/core/call_context.h"
#include "lib/core/clock.h"
#include "lib/core/errors.h"
#include "lib/store/idempotency_sweeper.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace dsar::store {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::IsOkAndHolds;
using ::dsar::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;

class IdempotencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = ::dsar::testing::OpenKvStore(dir_.File("idem.db"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  // Inserts the next key and answers its number, once per request id.
  absl::StatusOr<std::string> CreateThing(const CallContext& ctx, const std::string& body,
                                          absl::Time now = absl::UnixEpoch()) {
    absl::StatusOr<std::string> out;
    absl::Status s = store_->WriteAndWait([&](WriteTxn& txn) -> absl::Status {
      out = RunIdempotent(txn, ctx.tenant, ctx.idempotency_key, ctx.method, Fingerprint(body), now,
                          [&](WriteTxn& t) -> absl::StatusOr<std::string> {
                            ++mutations_;
                            if (body == "invalid") return absl::InvalidArgumentError("no");
                            SQLite::Statement& insert =
                                t.Prepare("INSERT INTO kv (k, v) VALUES (?, ?)");
                            insert.bind(1, static_cast<int64_t>(mutations_));
                            insert.bind(2, body);
                            insert.exec();
                            return "thing-" + std::to_string(mutations_);
                          });
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }

  CallContext Ctx(std::string tenant, std::string request_id) {
    CallContext ctx;
    ctx.tenant = std::move(tenant);
    ctx.principal = "svc-test";
    ctx.idempotency_key = IdempotencyKey(std::move(request_id));
    ctx.method = "/dsar.v1.Test/Create";
    return ctx;
  }

  ::dsar::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  int mutations_ = 0;
};

TEST_F(IdempotencyTest, RetryWithSameRequestIdReturnsFirstResponseAndWritesNothing) {
  auto first = CreateThing(Ctx("t1", "req-1"), "body");
  auto second = CreateThing(Ctx("t1", "req-1"), "body");
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(mutations_, 1);
}

TEST_F(IdempotencyTest, SweeperForgetsOnlyKeysOlderThanTheRetentionInBatches) {
  FakeClock clock;
  const absl::Time now = clock.Now();
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(
        CreateThing(Ctx("t1", "old-" + std::to_string(i)), "body", now - absl::Hours(24 * 31)),
        IsOk());
  }
  auto kept = CreateThing(Ctx("t2", "recent"), "body", now - absl::Hours(24 * 29));
  ASSERT_THAT(kept, IsOk());
  const int mutations_before = mutations_;

  IdempotencyKeySweeper sweeper(store_.get(), &clock, absl::Hours(24 * 30), absl::Hours(1),
                                /*batch_size=*/7);
  EXPECT_THAT(sweeper.SweepOnce(), IsOkAndHolds(20));
  EXPECT_THAT(sweeper.SweepOnce(), IsOkAndHolds(0));
  // Within the retention a retry still replays; a swept id is a new request.
  EXPECT_THAT(CreateThing(Ctx("t2", "recent"), "body", now), IsOkAndHolds(*kept));
  EXPECT_EQ(mutations_, mutations_before);
  EXPECT_THAT(CreateThing(Ctx("t1", "old-3"), "body", now), IsOk());
  EXPECT_EQ(mutations_, mutations_before + 1);
  // A day later the recent key is old too.
  clock.Advance(absl::Hours(24 * 2));
  EXPECT_THAT(sweeper.SweepOnce(), IsOkAndHolds(1));
}

TEST_F(IdempotencyTest, RetryAfterReopenStillReturnsFirstResponse) {
  auto first = CreateThing(Ctx("t1", "req-1"), "body");
  ASSERT_THAT(first, IsOk());
  store_.reset();
  SetUp();
  auto again = CreateThing(Ctx("t1", "req-1"), "body");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(mutations_, 1);
}

TEST_F(IdempotencyTest, SameIdWithDifferentContentIsRejectedNamingRequestId) {
  ASSERT_THAT(CreateThing(Ctx("t1", "req-1"), "body"), IsOk());
  auto other = CreateThing(Ctx("t1", "req-1"), "other body");
  EXPECT_THAT(other, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldViolationsOf(other.status()),
              ElementsAre(Field(&FieldViolation::field, "request_id")));
}

TEST_F(IdempotencyTest, TenantsHaveSeparateRequestIdSpaces) {
  ASSERT_THAT(CreateThing(Ctx("t1", "req-1"), "body"), IsOk());
  ASSERT_THAT(CreateThing(Ctx("t2", "req-1"), "body"), IsOk());
  EXPECT_EQ(mutations_, 2);
}

TEST_F(IdempotencyTest, FailedMutationIsNotStoredSoRetryReevaluates) {
  EXPECT_THAT(CreateThing(Ctx("t1", "req-1"), "invalid"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CreateThing(Ctx("t1", "req-1"), "invalid"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(mutations_, 2);
}

TEST_F(IdempotencyTest, MissingOrMalformedRequestIdIsInvalidArgument) {
  for (const char* bad : {"", "has space", "tab\tid"}) {
    auto result = CreateThing(Ctx("t1", bad), "body");
    EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
    EXPECT_THAT(FieldViolationsOf(result.status()),
                ElementsAre(Field(&FieldViolation::field, "request_id")));
  }
  EXPECT_THAT(CreateThing(Ctx("t1", std::string(129, 'a')), "body"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(mutations_, 0);
}

}  // namespace
}  // namespace dsar::store
