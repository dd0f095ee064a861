// Tests for dsar-bench's measuring tools: the gRPC load generator (closed
// loop and paced), the store submitter harness and the latency histogram.
// They check counting and bounding, never a machine's speed.
#include "tools/bench/load_generator.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"
#include "tools/bench/echo_server.h"
#include "tools/bench/latency_histogram.h"
#include "tools/bench/store_load.h"

namespace dsar::bench {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Ge;
using ::testing::Pair;

LoadOptions Small() {
  LoadOptions o;
  o.connections = 2;
  o.outstanding_per_connection = 4;
  o.warmup = absl::ZeroDuration();
  o.duration = absl::Seconds(30);  // a cap; the tests bound by count
  o.connect_timeout = absl::Seconds(5);
  return o;
}

// A CallFn that answers inline, without any RPC: OK, or `error` for odd
// sequence numbers when `fail_odd`.
ClientFactory InlineClient(bool fail_odd, grpc::StatusCode error = grpc::StatusCode::UNAVAILABLE) {
  return [fail_odd, error](const std::shared_ptr<grpc::Channel>&) -> CallFn {
    return [fail_odd, error](int64_t seq, CallDone done) {
      done(fail_odd && seq % 2 == 1 ? grpc::Status(error, "injected") : grpc::Status::OK);
    };
  };
}

class LoadGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = EchoServer::Start();
    ASSERT_THAT(server, IsOk());
    server_ = std::move(*server);
  }
  ChannelFactory Channels() { return InsecureChannelFactory(server_->target()); }

  std::unique_ptr<EchoServer> server_;
};

TEST_F(LoadGeneratorTest, ClosedLoopEchoSucceedsAndStopsAtMaxRequests) {
  LoadOptions options = Small();
  options.max_requests = 300;
  absl::StatusOr<LoadResult> r = RunLoad(options, Channels(), EchoClient(16));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->errors, 0) << r->ErrorSummary();
  EXPECT_GE(r->ok, 300);
  EXPECT_LT(r->elapsed, absl::Seconds(25));  // ended by the count, not the 30 s cap
  EXPECT_GT(r->p50, absl::ZeroDuration());
  EXPECT_LE(r->p50, r->p99);
  EXPECT_LE(r->p99, r->max);
  EXPECT_NEAR(r->qps * absl::ToDoubleSeconds(r->elapsed), static_cast<double>(r->ok), 1.0);
}

TEST_F(LoadGeneratorTest, FailedCallsCountAsErrorsByCodeNeverAsSuccesses) {
  LoadOptions options = Small();
  options.max_requests = 1000;
  absl::StatusOr<LoadResult> r = RunLoad(options, Channels(), InlineClient(/*fail_odd=*/true));
  ASSERT_THAT(r, IsOk());
  EXPECT_GT(r->ok, 0);
  EXPECT_GT(r->errors, 0);
  EXPECT_GE(r->ok + r->errors, 1000);
  EXPECT_THAT(r->errors_by_code, ElementsAre(Pair(grpc::StatusCode::UNAVAILABLE, r->errors)));
  EXPECT_EQ(r->ErrorSummary(), "UNAVAILABLE=" + std::to_string(r->errors));
  EXPECT_NEAR(r->qps * absl::ToDoubleSeconds(r->elapsed), static_cast<double>(r->ok), 1.0);
}

TEST_F(LoadGeneratorTest, WrongRepliesAreErrors) {
  ClientFactory wrong = [](const std::shared_ptr<grpc::Channel>& channel) -> CallFn {
    std::shared_ptr<v1::EchoService::Stub> stub = v1::EchoService::NewStub(channel);
    return [stub](int64_t, CallDone done) {
      StartUnaryCall<v1::EchoRequest, v1::EchoResponse>(
          v1::EchoRequest(), absl::Seconds(5),
          [&stub](grpc::ClientContext* c, const v1::EchoRequest* req, v1::EchoResponse* resp,
                  std::function<void(grpc::Status)> on_done) {
            stub->async()->Echo(c, req, resp, std::move(on_done));
          },
          [](const v1::EchoResponse&) {
            return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "not what we expected");
          },
          std::move(done));
    };
  };
  LoadOptions options = Small();
  options.max_requests = 50;
  absl::StatusOr<LoadResult> r = RunLoad(options, Channels(), wrong);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->ok, 0);
  EXPECT_EQ(r->qps, 0);
  EXPECT_THAT(r->errors_by_code, ElementsAre(Pair(grpc::StatusCode::FAILED_PRECONDITION, Ge(50))));
}

// Inline completions must neither recurse (a stack overflow would crash this
// test) nor keep the driver thread busy (RunLoad would never return).
TEST_F(LoadGeneratorTest, InlineCompletionsNeitherRecurseNorBlockTheDriver) {
  LoadOptions options = Small();
  options.duration = absl::Milliseconds(300);
  absl::StatusOr<LoadResult> r = RunLoad(options, Channels(), InlineClient(/*fail_odd=*/false));
  ASSERT_THAT(r, IsOk());
  EXPECT_GT(r->ok, 10000);
  EXPECT_EQ(r->errors, 0);
}

TEST_F(LoadGeneratorTest, PacedRunNeverStartsCallsAheadOfSchedule) {
  LoadOptions options = Small();
  options.target_qps = 500;
  options.max_requests = 100;
  absl::StatusOr<LoadResult> r = RunLoad(options, Channels(), EchoClient(16));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->errors, 0) << r->ErrorSummary();
  EXPECT_GE(r->ok, 100);
  // By time t at most 500·t + 1 calls were started (+2 for the pacer starting
  // a moment before the window opens).
  EXPECT_LE(static_cast<double>(r->ok), 500 * absl::ToDoubleSeconds(r->elapsed) + 3);
}

TEST_F(LoadGeneratorTest, FractionOfPeakPacesAtThatFraction) {
  LoadOptions options = Small();
  options.max_requests = 200;
  absl::StatusOr<PacedResult> r = RunLoadAtFractionOfPeak(options, 0.5, Channels(), EchoClient(16));
  ASSERT_THAT(r, IsOk());
  EXPECT_GT(r->peak.qps, 0);
  EXPECT_DOUBLE_EQ(r->target_qps, 0.5 * r->peak.qps);
  EXPECT_EQ(r->paced.errors, 0);
  EXPECT_GE(r->paced.ok, 200);
}

TEST_F(LoadGeneratorTest, ServerThatIsGoneIsUnavailable) {
  ChannelFactory channels = Channels();
  server_.reset();
  LoadOptions options = Small();
  options.connect_timeout = absl::Milliseconds(500);
  EXPECT_THAT(RunLoad(options, channels, EchoClient(16)), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(LoadGeneratorTest, BadOptionsAreInvalidArgument) {
  LoadOptions options = Small();
  options.connections = 0;
  EXPECT_THAT(RunLoad(options, Channels(), EchoClient(16)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StoreLoadTest, CountsDurableWritesAndErrorsSeparately) {
  ::dsar::testing::TempDir dir;
  auto store = ::dsar::testing::OpenKvStore(dir.File("bench.db"));
  ASSERT_THAT(store, IsOk());
  StoreLoadOptions options;
  options.submitters = 8;
  options.warmup = absl::ZeroDuration();
  options.duration = absl::Seconds(30);
  options.max_writes = 200;
  // Unique keys; every fourth write fails inside its WriteFn.
  auto make_write = [](int submitter, int64_t seq) -> store::WriteFn {
    int64_t k = seq * 100 + submitter;
    if (seq % 4 == 3) {
      return [](store::WriteTxn&) { return absl::AbortedError("injected"); };
    }
    return ::dsar::testing::InsertKv(k);
  };
  StoreLoadResult r = RunStoreLoad(**store, make_write, options);
  EXPECT_GE(r.ok + r.errors, 200);
  EXPECT_GT(r.ok, 0);
  EXPECT_GT(r.errors, 0);
  EXPECT_THAT(r.errors_by_code, ElementsAre(Pair(absl::StatusCode::kAborted, r.errors)));
  EXPECT_LT(r.elapsed, absl::Seconds(25));
  EXPECT_GT(r.groups, 0);
  EXPECT_GE(r.mean_group, 1.0);
  // Every write counted as a success is in the table (the table also holds
  // writes that finished outside the measured window).
  int64_t rows = 0;
  ASSERT_THAT((*store)->Read([&](store::ReadTxn& txn) {
    SQLite::Statement& q = txn.Prepare("SELECT COUNT(*) FROM kv");
    q.executeStep();
    rows = q.getColumn(0).getInt64();
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_GE(rows, r.ok);
}

TEST(LatencyHistogramTest, PercentilesAreWithinOnePercent) {
  LatencyHistogram h;
  for (int us = 1; us <= 10000; ++us) h.Record(absl::Microseconds(us));
  EXPECT_EQ(h.count(), 10000);
  EXPECT_NEAR(absl::ToDoubleMicroseconds(h.Percentile(0.50)), 5000, 50);
  EXPECT_NEAR(absl::ToDoubleMicroseconds(h.Percentile(0.99)), 9900, 99);
  EXPECT_EQ(h.Max(), absl::Microseconds(10000));
  EXPECT_LE(h.Percentile(1.0), h.Max());
  EXPECT_NEAR(absl::ToDoubleMicroseconds(h.Mean()), 5000.5, 0.01);
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.Percentile(0.99), absl::ZeroDuration());
  EXPECT_EQ(h.Mean(), absl::ZeroDuration());
}

}  // namespace
}  // namespace dsar::bench
