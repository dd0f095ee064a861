// dsar-sql-connector against a real PostgreSQL 15 (a throw-away cluster with
// fsync on) holding the demo's loyalty database (deploy/connectors/loyalty.sql)
// and the shipped map.
//
//   sql_connector/erase_throughput  --sql_members members; --sql_erasures
//       persons erased through a real dsar-sql-connector process
//       (EraseSubjectData by e-mail, --sql_concurrency calls in flight), then
//       as many other persons erased by a hand-written transaction per
//       person doing the same changes (select by e-mail, delete redemptions,
//       unlink transactions, hash/mask/null the member; libpq, same
//       concurrency), in the same run. Rate: persons/s through the connector;
//       ratio_to_handwritten (goal >= 0.5).
//   sql_connector/export_heavy  one member with --sql_heavy_rows point
//       transactions, exported through a fresh connector process. Rate:
//       records/s; the connector's RSS growth from ready to its peak (goal
//       < 32 MiB).
//
// Synthetic people only; unix socket and loopback only.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "dsar/connector/v1/connector.grpc.pb.h"
#include "services/sql_connector/keyed_hasher.h"
#include "services/sql_connector/postgres_engine.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/temp_dir.h"
#include "tools/bench/bench_config.h"
#include "tools/bench/report.h"
#include "tools/bench/watched_process.h"

namespace dsar::bench {
namespace {

constexpr char kHashKey[] = "bench-loyalty-hash-key-0123456789abcdef";
constexpr absl::Duration kStartTimeout = absl::Minutes(2);

std::string Email(int i) { return absl::StrFormat("person-%04d@example.invalid", i); }

// The loyalty database in a fresh cluster.
struct LoyaltyCluster {
  testing::PostgresCluster cluster;
  std::string conninfo;

  absl::Status Start(int members) {
    if (std::string e = cluster.Start(/*fsync=*/true); !e.empty()) {
      return absl::UnavailableError(e);
    }
    if (std::string e = cluster.CreateDatabase("loyalty"); !e.empty()) {
      return absl::UnavailableError(e);
    }
    testing::CommandResult load =
        cluster.Psql("loyalty", {"-v", absl::StrCat("people=", members), "-f",
                                 std::string(DSAR_SOURCE_DIR) + "/deploy/connectors/loyalty.sql"});
    if (load.exit_code != 0) return absl::UnavailableError("loyalty.sql: " + load.err);
    conninfo = cluster.ConnInfo("loyalty");
    return absl::OkStatus();
  }
};

std::unique_ptr<WatchedProcess> StartConnector(const std::string& conninfo,
                                               const std::string& key_file, int threads) {
  return std::make_unique<WatchedProcess>(
      std::vector<std::string>{
          Config().sql_connector_path, "--map",
          std::string(DSAR_SOURCE_DIR) + "/deploy/connectors/loyalty.textproto", "--postgres",
          conninfo, "--hash-key-file", key_file, "--listen=127.0.0.1:0",
          absl::StrCat("--threads=", threads)},
      std::vector<std::string>{});
}

// Persons first, first + 1, ... skipping those under legal hold (every
// 50th), `n` of them.
std::vector<int> Persons(int first, int n) {
  std::vector<int> out;
  for (int i = first; static_cast<int>(out.size()) < n; ++i) {
    if (i % 50 != 0) out.push_back(i);
  }
  return out;
}

// Runs `fn(person)` for every person on `threads` threads; returns the
// elapsed time and counts failures.
template <typename Fn>
absl::Duration RunAll(const std::vector<int>& persons, int threads, Fn fn,
                      std::atomic<int>& errors) {
  std::atomic<size_t> next{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto state = fn.Start(t);
      for (size_t i; (i = next++) < persons.size();) {
        if (!fn.One(state, persons[i])) ++errors;
      }
    });
  }
  for (auto& th : pool) th.join();
  return absl::Now() - start;
}

// Erasures through the connector's gRPC API.
struct ThroughConnector {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<connector::v1::DataSourceConnector::Stub> Start(int) {
    return connector::v1::DataSourceConnector::NewStub(channel);
  }
  bool One(std::unique_ptr<connector::v1::DataSourceConnector::Stub>& stub, int person) {
    connector::v1::EraseSubjectDataRequest request;
    request.set_task_id(absl::StrCat("bench-erase-", person));
    request.set_tenant("bench-tenant");
    auto* id = request.mutable_subject()->add_identifiers();
    id->set_type(connector::v1::IDENTIFIER_TYPE_EMAIL);
    id->set_value(Email(person));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    connector::v1::EraseSubjectDataResponse response;
    return stub->EraseSubjectData(&ctx, request, &response).ok() && response.anonymised_count() > 0;
  }
};

// The same changes as the loyalty map, written by hand: one transaction per
// person on a libpq connection of its own per thread.
struct HandWritten {
  sql_connector::PostgresEngine* engine;
  const sql_connector::KeyedHasher* hasher;
  std::unique_ptr<sql_connector::SqlConnection> Start(int) {
    auto c = engine->Connect();
    return c.ok() ? std::move(*c) : nullptr;
  }
  bool One(std::unique_ptr<sql_connector::SqlConnection>& c, int person) {
    if (c == nullptr) return false;
    if (!c->Execute("BEGIN").ok()) return false;
    std::string id, email, customer_no;
    absl::Status s =
        c->Query("SELECT id, email, customer_no FROM members WHERE email = $1 FOR UPDATE",
                 {Email(person)}, [&](const sql_connector::Row& r) {
                   id = r[0].text;
                   email = r[1].text;
                   customer_no = r[2].text;
                 });
    bool ok =
        s.ok() && !id.empty() &&
        c->Update("DELETE FROM reward_redemptions WHERE member_id = $1", {id}).ok() &&
        c->Update(
             "UPDATE point_transactions SET member_id = NULL, note = NULL WHERE "
             "member_id = $1",
             {id})
            .ok() &&
        c->Update(
             "UPDATE members SET email = $2, customer_no = $3, phone = '+46*********', "
             "full_name = NULL, birth_date = NULL WHERE id = $1",
             {id, hasher->Hash("bench-tenant", email), hasher->Hash("bench-tenant", customer_no)})
            .ok();
    if (!ok) {
      c->Execute("ROLLBACK").IgnoreError();
      return false;
    }
    return c->Execute("COMMIT").ok();
  }
};

void BM_EraseThroughput(benchmark::State& state) {
  const BenchConfig& config = Config();
  testing::TempDir dir(config.store_dir);
  std::ofstream(dir.File("hash.key")) << kHashKey;
  LoyaltyCluster pg;
  const absl::Time seed_start = absl::Now();
  if (absl::Status s = pg.Start(config.sql_members); !s.ok()) return Fail(state, s);
  const absl::Duration seeding = absl::Now() - seed_start;
  const int n = config.sql_erasures, concurrency = config.sql_concurrency;
  auto process = StartConnector(pg.conninfo, dir.File("hash.key"), concurrency);
  const int port = process->AwaitReady(kStartTimeout);
  if (port == 0) return Fail(state, absl::UnavailableError("dsar-sql-connector did not start"));
  auto hasher = sql_connector::KeyedHasher::Create(kHashKey);
  if (!hasher.ok()) return Fail(state, hasher.status());
  sql_connector::PostgresEngine engine(pg.conninfo);

  // Persons spread over the table: the first n for the connector, the next
  // n for the hand-written baseline.
  const std::vector<int> through = Persons(1, n);
  const std::vector<int> by_hand = Persons(through.back() + 1, n);
  for (auto _ : state) {
    std::atomic<int> errors{0};
    ThroughConnector connector_run{
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials())};
    const absl::Duration connector_time = RunAll(through, concurrency, connector_run, errors);
    HandWritten hand_run{&engine, &*hasher};
    const absl::Duration hand_time = RunAll(by_hand, concurrency, hand_run, errors);
    state.SetIterationTime(absl::ToDoubleSeconds(connector_time));
    const double connector_rate = n / absl::ToDoubleSeconds(connector_time);
    const double hand_rate = n / absl::ToDoubleSeconds(hand_time);
    state.counters["items_per_second"] = connector_rate;
    state.counters["handwritten_per_second"] = hand_rate;
    state.counters["ratio_to_handwritten"] = connector_rate / hand_rate;
    state.counters["ok"] = 2 * n - errors.load();
    state.counters["errors"] = errors.load();
    state.counters["members"] = config.sql_members;
    state.counters["seed_s"] = absl::ToDoubleSeconds(seeding);
    if (errors.load() > 0) MarkFailed(CurrentBenchmarkName(), "erasures failed");
    state.SetLabel(absl::StrFormat(
        "%d members; %d erasures each way, %d in flight; connector %.0f/s, hand-written %.0f/s "
        "(x%.2f)",
        config.sql_members, n, concurrency, connector_rate, hand_rate, connector_rate / hand_rate));
  }
}

void BM_ExportHeavy(benchmark::State& state) {
  const BenchConfig& config = Config();
  testing::TempDir dir(config.store_dir);
  std::ofstream(dir.File("hash.key")) << kHashKey;
  LoyaltyCluster pg;
  if (absl::Status s = pg.Start(100); !s.ok()) return Fail(state, s);
  const int rows = config.sql_heavy_rows;
  testing::CommandResult add = pg.cluster.Psql(
      "loyalty",
      {"-c", absl::StrCat("INSERT INTO point_transactions SELECT 1000000 + k, 1, 'south', k % 500, "
                          "'stay', 'row ' || k, TIMESTAMPTZ '2024-01-01' + k * INTERVAL '1 "
                          "minute' FROM generate_series(1, ",
                          rows, ") AS k")});
  if (add.exit_code != 0) return Fail(state, absl::UnavailableError(add.err));
  auto process = StartConnector(pg.conninfo, dir.File("hash.key"), 4);
  const int port = process->AwaitReady(kStartTimeout);
  if (port == 0) return Fail(state, absl::UnavailableError("dsar-sql-connector did not start"));
  auto stub = connector::v1::DataSourceConnector::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  const int64_t rss_ready = process->StatusKb("VmRSS");
  for (auto _ : state) {
    connector::v1::ExportSubjectDataRequest request;
    request.set_task_id("bench-export");
    request.set_tenant("bench-tenant");
    auto* id = request.mutable_subject()->add_identifiers();
    id->set_type(connector::v1::IDENTIFIER_TYPE_EMAIL);
    id->set_value(Email(1));
    grpc::ClientContext ctx;
    const absl::Time start = absl::Now();
    auto reader = stub->ExportSubjectData(&ctx, request);
    int64_t records = 0;
    connector::v1::ExportSubjectDataResponse batch;
    while (reader->Read(&batch)) records += batch.records_size();
    grpc::Status status = reader->Finish();
    const absl::Duration elapsed = absl::Now() - start;
    state.SetIterationTime(absl::ToDoubleSeconds(elapsed));
    const int64_t hwm = process->StatusKb("VmHWM");
    const int64_t expected = rows + 3 + 1;  // the member, its 3 seeded transactions, the extra rows
    const bool ok = status.ok() && records == expected;
    if (!ok) {
      MarkFailed(CurrentBenchmarkName(),
                 absl::StrCat("export: ", status.error_message(), " records ", records));
    }
    state.counters["items_per_second"] = records / absl::ToDoubleSeconds(elapsed);
    state.counters["ok"] = ok ? 1 : 0;
    state.counters["errors"] = ok ? 0 : 1;
    state.counters["records"] = static_cast<double>(records);
    state.counters["rss_ready_mib"] = rss_ready / 1024.0;
    state.counters["rss_peak_mib"] = hwm / 1024.0;
    state.counters["rss_growth_mib"] = (hwm - rss_ready) / 1024.0;
    state.SetLabel(absl::StrFormat("%d records of one member; RSS %.1f -> %.1f MiB (+%.1f)",
                                   records, rss_ready / 1024.0, hwm / 1024.0,
                                   (hwm - rss_ready) / 1024.0));
  }
}

}  // namespace

void RegisterSqlConnectorBenchmarks() {
  RegisterOnce("sql_connector/erase_throughput", BM_EraseThroughput);
  RegisterOnce("sql_connector/export_heavy", BM_ExportHeavy);
}

}  // namespace dsar::bench
