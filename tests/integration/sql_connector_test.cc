// dsar-sql-connector's operations through its real gRPC server (port 0) over
// the shipped loyalty map, on both engines: a real SQLite file and a real
// PostgreSQL 15 database in a throw-away cluster. Nothing is mocked.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/core/clock.h"
#include "services/connector_kit/connector_server.h"
#include "services/sql_connector/connection_pool.h"
#include "services/sql_connector/dataset_map.h"
#include "services/sql_connector/sql_data_source.h"
#include "tests/testing/loyalty_db.h"

namespace dsar {
namespace {

using connector::v1::DataSourceConnector;
using connector::v1::EraseSubjectDataResponse;
using connector::v1::SubjectRecord;
using sql_connector::ConnectionPool;
using sql_connector::DatasetPlan;
using sql_connector::KeyedHasher;
using sql_connector::ParsedMap;
using sql_connector::SqlDataSource;

std::string Email(int i) { return absl::StrFormat("person-%04d@example.invalid", i); }
std::string CustomerNo(int i) { return absl::StrFormat("cust-%04d", i); }

connector::v1::SubjectIdentity ByEmail(int i) {
  connector::v1::SubjectIdentity s;
  auto* id = s.add_identifiers();
  id->set_type(connector::v1::IDENTIFIER_TYPE_EMAIL);
  id->set_value(Email(i));
  return s;
}

// One cluster per test process, started by the first PostgreSQL test.
testing::PostgresCluster* started_cluster = nullptr;

testing::PostgresCluster* Cluster() {
  static testing::PostgresCluster* cluster = [] {
    auto* c = new testing::PostgresCluster();
    std::string error = c->Start();
    if (!error.empty()) {
      ADD_FAILURE() << "no PostgreSQL for the tests: " << error;
      delete c;
      return static_cast<testing::PostgresCluster*>(nullptr);
    }
    return started_cluster = c;
  }();
  return cluster;
}

class ClusterCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (started_cluster != nullptr) started_cluster->Stop();
  }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new ClusterCleanup);

class SqlConnectorTest : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr int kPeople = 60;

  void SetUp() override {
    testing::PostgresCluster* cluster = nullptr;
    if (GetParam() == "postgresql") {
      cluster = Cluster();
      ASSERT_NE(cluster, nullptr) << "PostgreSQL 15 is required (CI installs postgresql-15)";
    }
    ASSERT_EQ(db_.Create(GetParam(), cluster, kPeople), "");
    auto map =
        ParsedMap::Load(std::string(DSAR_SOURCE_DIR) + "/deploy/connectors/loyalty.textproto");
    ASSERT_TRUE(map.ok()) << map.status();
    pool_ = std::make_unique<ConnectionPool>(&db_.engine(), 4);
    auto plan = SqlDataSource::PlanFor(*map, *pool_);
    ASSERT_TRUE(plan.ok()) << plan.status();
    plan_ = std::make_unique<DatasetPlan>(std::move(*plan));
    auto hasher = KeyedHasher::Create(std::string(32, 'k'));
    ASSERT_TRUE(hasher.ok());
    hasher_ = std::make_unique<KeyedHasher>(std::move(*hasher));
    source_ = std::make_unique<SqlDataSource>(plan_.get(), pool_.get(), hasher_.get(),
                                              SystemClock::Default(), "test");
    ASSERT_TRUE(source_->CreateOwnTables().ok());
    queue_ = std::make_unique<connector_kit::WorkQueue>(4);
    service_ = std::make_unique<connector_kit::ConnectorServer>(source_.get(), queue_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_GT(port, 0);
    stub_ = DataSourceConnector::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    if (queue_) queue_->Stop();
  }

  struct Export {
    grpc::Status status;
    std::vector<SubjectRecord> records;
    std::vector<connector::v1::SubjectIdentifier> resolved;
  };
  Export ExportOf(const connector::v1::SubjectIdentity& subject) {
    connector::v1::ExportSubjectDataRequest request;
    request.set_task_id("export");
    request.set_tenant("demo-travel");
    *request.mutable_subject() = subject;
    grpc::ClientContext ctx;
    auto reader = stub_->ExportSubjectData(&ctx, request);
    Export out;
    connector::v1::ExportSubjectDataResponse batch;
    while (reader->Read(&batch)) {
      for (const auto& r : batch.records()) out.records.push_back(r);
      for (const auto& id : batch.resolved_identifiers()) out.resolved.push_back(id);
    }
    out.status = reader->Finish();
    return out;
  }
  std::set<std::string> RecordIds(const Export& e) {
    std::set<std::string> ids;
    for (const auto& r : e.records) ids.insert(r.record_id());
    return ids;
  }
  EraseSubjectDataResponse Erase(const std::string& task_id,
                                 const connector::v1::SubjectIdentity& subject,
                                 grpc::Status* status_out = nullptr) {
    connector::v1::EraseSubjectDataRequest request;
    request.set_task_id(task_id);
    request.set_tenant("demo-travel");
    *request.mutable_subject() = subject;
    grpc::ClientContext ctx;
    EraseSubjectDataResponse response;
    grpc::Status status = stub_->EraseSubjectData(&ctx, request, &response);
    if (status_out != nullptr) {
      *status_out = status;
    } else {
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
    return response;
  }
  // Everything in the mapped tables, for "nothing changed" checks.
  std::string Snapshot() {
    std::string out;
    for (const char* t :
         {"members", "point_transactions", "point_purchases", "reward_redemptions"}) {
      absl::StrAppend(&out, t, "\n", db_.All(absl::StrCat("SELECT * FROM ", t, " ORDER BY id")));
    }
    return out;
  }
  std::string PointsPerRegion() {
    return db_.All(
        "SELECT region, SUM(points), COUNT(*) FROM point_transactions GROUP BY region ORDER BY "
        "region");
  }

  testing::LoyaltyDb db_;
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<DatasetPlan> plan_;
  std::unique_ptr<KeyedHasher> hasher_;
  std::unique_ptr<SqlDataSource> source_;
  std::unique_ptr<connector_kit::WorkQueue> queue_;
  std::unique_ptr<connector_kit::ConnectorServer> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<DataSourceConnector::Stub> stub_;
};

TEST_P(SqlConnectorTest, DescribeReportsTheMapsRegisterEntry) {
  grpc::ClientContext ctx;
  connector::v1::DescribeResponse d;
  ASSERT_TRUE(stub_->Describe(&ctx, {}, &d).ok());
  EXPECT_EQ(d.system(), "loyalty");
  EXPECT_EQ(d.country(), "SE");
  ASSERT_EQ(d.categories_size(), 4);
  EXPECT_EQ(d.categories(0).name(), "membership");
  EXPECT_EQ(d.purposes_size(), 2);
  EXPECT_EQ(d.sub_processors_size(), 1);
  EXPECT_EQ(d.operations_size(), 4);
}

TEST_P(SqlConnectorTest, AccessByEmailExportsTheMembersRowsOfEveryMappedTableThroughJoins) {
  // Person 12: a member, three point transactions, a purchase (12 % 4 == 0)
  // and a redemption (12 % 3 == 0).
  Export e = ExportOf(ByEmail(12));
  ASSERT_TRUE(e.status.ok()) << e.status.error_message();
  EXPECT_EQ(RecordIds(e), (std::set<std::string>{"members/12", "point_transactions/34",
                                                 "point_transactions/35", "point_transactions/36",
                                                 "point_purchases/12", "reward_redemptions/12"}));
  for (const auto& r : e.records) {
    EXPECT_EQ(r.system(), "loyalty");
    if (r.record_id() == "members/12") {
      EXPECT_EQ(r.category(), "membership");
      EXPECT_NE(r.json().find("\"customer_no\":\"cust-0012\""), std::string::npos) << r.json();
      EXPECT_NE(r.json().find("\"legal_hold\":false"), std::string::npos) << r.json();
      EXPECT_NE(r.json().find("\"id\":12"), std::string::npos) << r.json();
    }
  }
  std::set<std::string> resolved;
  for (const auto& id : e.resolved) resolved.insert(absl::StrCat(id.type(), ":", id.value()));
  EXPECT_EQ(resolved,
            (std::set<std::string>{"1:" + Email(12), "2:" + CustomerNo(12), "3:+46700000012"}));
}

TEST_P(SqlConnectorTest, AnExportStreamsInBatchesAndAnUnknownPersonGetsAnEmptyStream) {
  Export none = ExportOf(ByEmail(9999));
  ASSERT_TRUE(none.status.ok());
  EXPECT_TRUE(none.records.empty());
  EXPECT_TRUE(none.resolved.empty());
  connector::v1::SubjectIdentity bad;
  bad.add_identifiers()->set_value("x");
  EXPECT_EQ(ExportOf(bad).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_P(SqlConnectorTest, ErasureDoesExactlyWhatTheMapSaysInOneGoAndARetryDoesNothingTwice) {
  const std::string stats_before = PointsPerRegion();
  const std::string neighbour = db_.All("SELECT * FROM members WHERE id = 13");
  EraseSubjectDataResponse r = Erase("task-1", ByEmail(12));
  EXPECT_EQ(r.state(), connector::v1::OPERATION_STATE_DONE);
  EXPECT_FALSE(r.replayed());
  EXPECT_EQ(r.deleted_count(), 1);     // the redemption
  EXPECT_EQ(r.anonymised_count(), 4);  // the member and three transactions
  ASSERT_EQ(r.kept_records_size(), 1);
  EXPECT_EQ(r.kept_records(0).record_id(), "point_purchases/12");
  EXPECT_EQ(r.kept_records(0).reason(), connector::v1::KEEP_REASON_LEGAL_OBLIGATION);
  EXPECT_EQ(r.resolved_identifiers_size(), 3);

  // members: hashed, masked, nulled, kept.
  EXPECT_EQ(db_.One("SELECT email FROM members WHERE id = 12"),
            hasher_->Hash("demo-travel", Email(12)));
  EXPECT_EQ(db_.One("SELECT customer_no FROM members WHERE id = 12"),
            hasher_->Hash("demo-travel", CustomerNo(12)));
  EXPECT_EQ(db_.One("SELECT phone FROM members WHERE id = 12"), "+46*********");
  EXPECT_EQ(db_.One("SELECT full_name FROM members WHERE id = 12"), "NULL");
  EXPECT_EQ(db_.One("SELECT birth_date FROM members WHERE id = 12"), "NULL");
  EXPECT_EQ(db_.One("SELECT region FROM members WHERE id = 12"), "east");
  // point_transactions: unlinked, note gone, points and region kept.
  EXPECT_EQ(db_.One("SELECT COUNT(*) FROM point_transactions WHERE member_id = 12"), "0");
  EXPECT_EQ(db_.One("SELECT member_id FROM point_transactions WHERE id = 36"), "NULL");
  EXPECT_EQ(db_.One("SELECT note FROM point_transactions WHERE id = 36"), "NULL");
  EXPECT_EQ(PointsPerRegion(), stats_before);
  // reward_redemptions deleted; point_purchases kept as they were.
  EXPECT_EQ(db_.One("SELECT COUNT(*) FROM reward_redemptions WHERE id = 12"), "0");
  EXPECT_EQ(db_.One("SELECT invoice_no FROM point_purchases WHERE id = 12"), "INV-00000012");
  // Nobody else changed.
  EXPECT_EQ(db_.All("SELECT * FROM members WHERE id = 13"), neighbour);

  // The verification export finds nothing under any of the identifiers.
  EXPECT_TRUE(ExportOf(ByEmail(12)).records.empty());
  connector::v1::SubjectIdentity by_number;
  auto* id = by_number.add_identifiers();
  id->set_type(connector::v1::IDENTIFIER_TYPE_CUSTOMER_ID);
  id->set_value(CustomerNo(12));
  EXPECT_TRUE(ExportOf(by_number).records.empty());

  // A retried task answers the first response and changes nothing.
  const std::string after = Snapshot();
  EraseSubjectDataResponse again = Erase("task-1", ByEmail(12));
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.deleted_count(), 1);
  EXPECT_EQ(again.anonymised_count(), 4);
  EXPECT_EQ(Snapshot(), after);
  EXPECT_EQ(db_.One("SELECT COUNT(*) FROM dsar_connector_tasks"), "1");
  // A new task for the same person finds no one.
  EraseSubjectDataResponse fresh = Erase("task-2", ByEmail(12));
  EXPECT_FALSE(fresh.replayed());
  EXPECT_EQ(fresh.deleted_count() + fresh.anonymised_count(), 0);
  EXPECT_EQ(Snapshot(), after);
}

TEST_P(SqlConnectorTest, ALegalHoldKeepsEveryRowAndReportsIt) {
  const std::string before = Snapshot();
  EraseSubjectDataResponse r = Erase("task-free", ByEmail(60));  // not held
  EXPECT_GT(r.deleted_count() + r.anonymised_count(), 0);
  const std::string after_unheld = Snapshot();
  EraseSubjectDataResponse held = Erase("task-hold-50", ByEmail(50));
  EXPECT_EQ(held.deleted_count(), 0);
  EXPECT_EQ(held.anonymised_count(), 0);
  ASSERT_EQ(held.kept_records_size(), 4);  // the member and 3 transactions
  for (const auto& k : held.kept_records()) {
    EXPECT_EQ(k.reason(), connector::v1::KEEP_REASON_LEGAL_HOLD);
  }
  EXPECT_EQ(Snapshot(), after_unheld);
  EXPECT_NE(before, after_unheld);
}

TEST_P(SqlConnectorTest, AConsentChangeAppliesOnlyWhenNewerAndReportsAnUnknownPerson) {
  auto apply = [&](const std::string& task, int person, bool given, int64_t seconds) {
    connector::v1::ApplyConsentChangeRequest request;
    request.set_task_id(task);
    request.set_tenant("demo-travel");
    *request.mutable_subject() = ByEmail(person);
    request.set_purpose("marketing");
    request.set_action(given ? connector::v1::CONSENT_ACTION_GIVEN
                             : connector::v1::CONSENT_ACTION_WITHDRAWN);
    request.mutable_change_time()->set_seconds(seconds);
    grpc::ClientContext ctx;
    connector::v1::ApplyConsentChangeResponse response;
    EXPECT_TRUE(stub_->ApplyConsentChange(&ctx, request, &response).ok());
    return response;
  };
  // Person 4 opted in (4 % 2 == 0).
  EXPECT_EQ(apply("c1", 4, false, 2000).affected_count(), 1);
  EXPECT_EQ(db_.One("SELECT marketing_opt_in FROM members WHERE id = 4"), "false");
  EXPECT_EQ(apply("c2", 4, true, 1000).affected_count(), 0);  // older: not applied
  EXPECT_EQ(apply("c1", 4, false, 2000).replayed(), true);
  EXPECT_TRUE(apply("c3", 9999, true, 3000).no_matching_record());
  EXPECT_EQ(db_.One("SELECT marketing_changed_us FROM members WHERE id = 4"), "2000000000");
}

TEST_P(SqlConnectorTest, EndedRelationshipsArePagedOldestFirstAndSkipErasedMembers) {
  connector::v1::ListEndedRelationshipsRequest request;
  request.set_tenant("demo-travel");
  request.mutable_end_time_before()->set_seconds(1735689600);  // 2025-01-01
  request.set_page_size(2);
  std::vector<std::string> emails;
  int64_t last = 0;
  for (;;) {
    grpc::ClientContext ctx;
    connector::v1::ListEndedRelationshipsResponse page;
    ASSERT_TRUE(stub_->ListEndedRelationships(&ctx, request, &page).ok());
    for (const auto& r : page.relationships()) {
      EXPECT_GE(r.end_time().seconds(), last);
      EXPECT_LT(r.end_time().seconds(), 1735689600);
      last = r.end_time().seconds();
      emails.push_back(r.subject().identifiers(0).value());
    }
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  const std::string expected = db_.One(
      "SELECT COUNT(*) FROM members WHERE ended_at IS NOT NULL AND ended_at < '2025-01-01'");
  ASSERT_EQ(std::to_string(emails.size()), expected);
  ASSERT_FALSE(emails.empty());
  // Once erased, a member is not listed again.
  Erase("ended-1", ByEmail(std::stoi(emails[0].substr(7, 4))));
  request.clear_page_token();
  request.set_page_size(1000);
  grpc::ClientContext ctx;
  connector::v1::ListEndedRelationshipsResponse page;
  ASSERT_TRUE(stub_->ListEndedRelationships(&ctx, request, &page).ok());
  EXPECT_EQ(page.relationships_size(), static_cast<int>(emails.size()) - 1);
}

TEST_P(SqlConnectorTest, AMissingTableIsPermanentAndAnUnreachableDatabaseIsTransient) {
  // The database changed under the map: FAILED_PRECONDITION (dsard
  // dead-letters at once), and the transaction changed nothing.
  ASSERT_TRUE(db_.check().Execute("DROP TABLE reward_redemptions").ok());
  grpc::Status status;
  Erase("task-missing", ByEmail(12), &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_EQ(db_.One("SELECT email FROM members WHERE id = 12"), Email(12));
  EXPECT_EQ(db_.One("SELECT COUNT(*) FROM point_transactions WHERE member_id = 12"), "3");
  EXPECT_EQ(db_.One("SELECT COUNT(*) FROM dsar_connector_tasks"), "0");

  // A database that cannot be reached: UNAVAILABLE (dsard retries).
  std::unique_ptr<sql_connector::SqlEngine> gone;
  if (GetParam() == "postgresql") {
    gone = std::make_unique<sql_connector::PostgresEngine>(
        "host=/nonexistent-dsar-socket-dir dbname=loyalty user=postgres connect_timeout=2");
  } else {
    gone = std::make_unique<sql_connector::SqliteEngine>("/nonexistent-dsar-dir/loyalty.db");
  }
  ConnectionPool gone_pool(gone.get(), 1);
  SqlDataSource unreachable(plan_.get(), &gone_pool, hasher_.get(), SystemClock::Default(), "t");
  connector::v1::EraseSubjectDataRequest request;
  request.set_task_id("task-gone");
  *request.mutable_subject() = ByEmail(12);
  EXPECT_EQ(unreachable.Erase(request).status().code(), absl::StatusCode::kUnavailable);
  connector::v1::ExportSubjectDataRequest export_request;
  *export_request.mutable_subject() = ByEmail(12);
  EXPECT_EQ(unreachable.StartExport(export_request).status().code(),
            absl::StatusCode::kUnavailable);
}

INSTANTIATE_TEST_SUITE_P(Engines, SqlConnectorTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dsar
