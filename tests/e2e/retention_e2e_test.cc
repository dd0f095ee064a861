// The 12-month retention rule as the demo runs it: a real dsard started with
// deploy/dsard.dev.textproto (only @VAR@ and the ports replaced and the
// loyalty connector left out, so the test fails when the shipped demo config
// stops running the rule) and the booking
// and CRM refbackends seeded exactly as `tools/dev run` seeds them (seed 1,
// 1000 people), on a fresh directory. What the erasures did is read from the
// refbackends' own SQLite files. Synchronisation: dsard's log lines
// (privacy_request_completed), never sleeps.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "dsar/v1/privacy_request.grpc.pb.h"
#include "tests/testing/temp_dir.h"
#include "tools/bench/watched_process.h"

namespace dsar {
namespace {

using bench::WatchedProcess;

constexpr char kCompleted[] = "privacy_request_completed";
constexpr char kDpoToken[] = "dev-dpo-token";  // the demo's DPO (deploy/dsard.dev.textproto)

// One person as a refbackend holds them.
struct Person {
  int64_t id = 0;
  std::string email;
  int64_t ended_at_us = 0;  // 0: the relationship has not ended
  bool legal_hold = false;
};

std::map<std::string, Person> People(const std::string& db, const std::string& table) {
  SQLite::Database d(db, SQLite::OPEN_READONLY);
  SQLite::Statement q(d, absl::StrCat("SELECT id, email, ended_at_us, legal_hold FROM ", table,
                                      " WHERE email IS NOT NULL"));
  std::map<std::string, Person> out;
  while (q.executeStep()) {
    Person p{q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getInt64(),
             q.getColumn(3).getInt() != 0};
    out[p.email] = p;
  }
  return out;
}

// One refbackend's database: its people and the rows that identify one.
struct System {
  std::string name;
  std::string db;
  std::string people_table;
  std::string traces_sql;  // counts the rows identifying person ?1
};

// Per person id, the rows of `system` that identify them.
std::map<int64_t, int64_t> Traces(const System& system,
                                  const std::map<std::string, Person>& people) {
  SQLite::Database d(system.db, SQLite::OPEN_READONLY);
  SQLite::Statement q(d, system.traces_sql);
  std::map<int64_t, int64_t> out;
  for (const auto& [email, p] : people) {
    q.bind(1, p.id);
    q.executeStep();
    out[p.id] = q.getColumn(0).getInt64();
    q.reset();
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class RetentionE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.File("subject.key")) << "e2e-retention-subject-key-0123456789abcdef";
    std::ofstream(dir_.File("callback.secret")) << "e2e-retention-callback-secret-0123";
    systems_ = {
        {"booking", dir_.File("booking.db"), "people",
         "SELECT (SELECT count(*) FROM people WHERE id = ?1) + "
         "(SELECT count(*) FROM bookings WHERE person_id = ?1) + "
         "(SELECT count(*) FROM payments WHERE person_id = ?1)"},
        {"crm", dir_.File("crm.db"), "contacts",
         "SELECT (SELECT count(*) FROM contacts WHERE id = ?1 AND (name IS NOT NULL OR email IS "
         "NOT NULL OR phone IS NOT NULL OR customer_id IS NOT NULL)) + "
         "(SELECT count(*) FROM notes WHERE contact_id = ?1) + "
         "(SELECT count(*) FROM emails WHERE contact_id = ?1) + "
         "(SELECT count(*) FROM documents WHERE contact_id = ?1)"},
    };
  }

  // Starts both refbackends as tools/dev run does (there on fixed ports),
  // with `flags` added, and records what each holds before dsard starts.
  void StartBackends(const std::vector<std::string>& flags = {}) {
    for (const System& system : systems_) {
      std::vector<std::string> argv = {
          REFBACKEND_PATH, "--kind=" + system.name, "--listen=127.0.0.1:0", "--db=" + system.db,
          "--seed=1",      "--people=1000"};
      argv.insert(argv.end(), flags.begin(), flags.end());
      backends_.push_back(std::make_unique<WatchedProcess>(argv, std::vector<std::string>{}));
      ports_.push_back(backends_.back()->AwaitReady(absl::Seconds(60)));
      ASSERT_GT(ports_.back(), 0) << system.name;
      people_.push_back(People(system.db, system.people_table));
      ASSERT_EQ(people_.back().size(), 1000u) << system.name;
      before_.push_back(Traces(system, people_.back()));
    }
  }

  // People whose relationship with some system ended before `cutoff_us`;
  // each system has over 50.
  std::set<std::string> OldPeople(int64_t cutoff_us) {
    std::set<std::string> out;
    for (size_t i = 0; i < systems_.size(); ++i) {
      int n = 0;
      for (const auto& [email, p] : people_[i]) {
        if (Old(p, cutoff_us)) ++n, out.insert(email);
      }
      EXPECT_GT(n, 50) << systems_[i].name;
    }
    return out;
  }
  static bool Old(const Person& p, int64_t cutoff_us) {
    return p.ended_at_us > 0 && p.ended_at_us < cutoff_us;
  }

  // Starts dsard on deploy/dsard.dev.textproto with its @VAR@ and fixed
  // ports replaced (and `changes`), counting the log lines of `events`.
  std::unique_ptr<WatchedProcess> StartDemoDsard(
      const std::vector<std::pair<std::string, std::string>>& changes,
      std::vector<std::string> events) {
    std::string demo = ReadFile(DEV_CONFIG_PATH);
    EXPECT_FALSE(demo.empty());
    // Without the loyalty connector: this test runs the refbackends only
    // (dsar-sql-connector has its own end-to-end test on PostgreSQL).
    const auto loyalty = demo.find("# --- loyalty (dsar-sql-connector) ---");
    const auto loyalty_end = demo.find("# --- end loyalty ---");
    EXPECT_NE(loyalty, std::string::npos);
    EXPECT_NE(loyalty_end, std::string::npos);
    if (loyalty != std::string::npos && loyalty_end != std::string::npos) {
      demo.erase(loyalty, loyalty_end - loyalty);
    }
    std::vector<std::pair<std::string, std::string>> all = {
        {"@VAR@", dir_.path()},
        {"127.0.0.1:50051", "127.0.0.1:0"},
        {"127.0.0.1:9464", "127.0.0.1:0"},
        {"127.0.0.1:50061", absl::StrCat("127.0.0.1:", ports_[0])},
        {"127.0.0.1:50062", absl::StrCat("127.0.0.1:", ports_[1])}};
    for (const auto& c : changes) {
      EXPECT_NE(demo.find(c.first), std::string::npos) << c.first;
      all.push_back(c);
    }
    std::ofstream(dir_.File("dsard.textproto")) << absl::StrReplaceAll(demo, all);
    auto dsard = std::make_unique<WatchedProcess>(
        std::vector<std::string>{DSARD_PATH, "--config", dir_.File("dsard.textproto")},
        std::move(events));
    port_ = dsard->AwaitReady(absl::Seconds(30));
    EXPECT_GT(port_, 0);
    return dsard;
  }

  // Every request dsard holds, by state; each is a RETENTION erasure.
  std::map<int, int> RequestStates() {
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    auto stub = v1::PrivacyRequestService::NewStub(channel);
    std::map<int, int> out;
    v1::ListPrivacyRequestsRequest list;
    list.set_page_size(100);
    for (;;) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kDpoToken));
      v1::ListPrivacyRequestsResponse page;
      grpc::Status s = stub->ListPrivacyRequests(&ctx, list, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const auto& r : page.privacy_requests()) {
        EXPECT_EQ(r.type(), v1::PRIVACY_REQUEST_TYPE_ERASURE);
        EXPECT_EQ(r.source(), v1::PRIVACY_REQUEST_SOURCE_RETENTION);
        ++out[r.state()];
      }
      if (!s.ok() || page.next_page_token().empty()) break;
      list.set_page_token(page.next_page_token());
    }
    return out;
  }

  // In each system's own database: with `erased`, nothing identifying left of
  // those whose relationship there ended before `cutoff_us` (unless on legal
  // hold) and everyone else untouched; without, everyone untouched. Returns
  // how many were erased.
  int CheckSystems(int64_t cutoff_us, bool erased) {
    int n = 0;
    for (size_t i = 0; i < systems_.size(); ++i) {
      const auto after = Traces(systems_[i], people_[i]);
      for (const auto& [email, p] : people_[i]) {
        if (erased && Old(p, cutoff_us) && !p.legal_hold) {
          EXPECT_EQ(after.at(p.id), 0) << systems_[i].name << " person " << p.id;
          ++n;
        } else {
          EXPECT_GT(before_[i].at(p.id), 0) << systems_[i].name << " person " << p.id;
          EXPECT_EQ(after.at(p.id), before_[i].at(p.id)) << systems_[i].name << " person " << p.id;
        }
      }
    }
    return n;
  }

  ::dsar::testing::TempDir dir_;
  std::vector<System> systems_;
  std::vector<std::unique_ptr<WatchedProcess>> backends_;
  std::vector<int> ports_;
  std::vector<std::map<std::string, Person>> people_;
  std::vector<std::map<int64_t, int64_t>> before_;
  int port_ = 0;
};

TEST_F(RetentionE2eTest, DemoErasesEveryoneWhoseRelationshipEndedOverAYearAgo) {
  ASSERT_NO_FATAL_FAILURE(StartBackends());
  const absl::Time started = absl::Now();
  const int64_t cutoff_us = absl::ToUnixMicros(started - absl::Hours(24 * 365));
  const std::set<std::string> expected = OldPeople(cutoff_us);

  auto dsard = StartDemoDsard({}, {kCompleted});
  // Within 60 s of start every such person's erasure has completed.
  ASSERT_TRUE(
      dsard->AwaitEvents(kCompleted, expected.size(), absl::Seconds(60) - (absl::Now() - started)))
      << dsard->Events(kCompleted).size() << " of " << expected.size() << " completed in 60 s";
  EXPECT_THAT(RequestStates(), ::testing::ElementsAre(::testing::Pair(
                                   v1::PRIVACY_REQUEST_STATE_COMPLETED, expected.size())));
  EXPECT_GT(CheckSystems(cutoff_us, /*erased=*/true), 200);
  dsard->Stop();
}

TEST_F(RetentionE2eTest, ConnectorsListingRecentEndsEraseNoOneEarly) {
  // Both systems list every ended relationship, however recent.
  ASSERT_NO_FATAL_FAILURE(StartBackends({"--fault-list-every-ended"}));
  // A retention period that puts about half the seeded ends (fixed dates,
  // 2022-2025) inside the window, whenever the test runs.
  std::vector<int64_t> ends;
  for (const auto& people : people_) {
    for (const auto& [email, p] : people) {
      if (p.ended_at_us > 0) ends.push_back(p.ended_at_us);
    }
  }
  std::sort(ends.begin(), ends.end());
  const absl::Time started = absl::Now();
  const int64_t days =
      absl::ToInt64Hours(started - absl::FromUnixMicros(ends[ends.size() / 2])) / 24;
  const int64_t cutoff_us = absl::ToUnixMicros(started - absl::Hours(24 * days));
  const std::set<std::string> expected = OldPeople(cutoff_us);
  int recent = 0;
  for (int64_t end : ends) recent += end >= cutoff_us;
  ASSERT_GT(recent, 100);

  auto dsard = StartDemoDsard(
      {{"relationship_retention_days: 365", absl::StrCat("relationship_retention_days: ", days)}},
      {kCompleted, "retention_scan", "retention_end_date_not_before_cutoff"});
  ASSERT_TRUE(dsard->AwaitEvents(kCompleted, expected.size(), absl::Seconds(60)));
  ASSERT_TRUE(dsard->AwaitEvents("retention_scan", 1, absl::Seconds(10)));
  // Both connectors named people too recent; dsard ignored them.
  EXPECT_EQ(dsard->Events("retention_end_date_not_before_cutoff").size(), 2u)
      << dsard->Events("retention_scan")[0];
  EXPECT_NE(dsard->Events("retention_scan")[0].find(absl::StrCat("\"ignored\":", recent)),
            std::string::npos)
      << dsard->Events("retention_scan")[0];
  EXPECT_THAT(RequestStates(), ::testing::ElementsAre(::testing::Pair(
                                   v1::PRIVACY_REQUEST_STATE_COMPLETED, expected.size())));
  EXPECT_GT(CheckSystems(cutoff_us, /*erased=*/true), 100);
  dsard->Stop();
}

TEST_F(RetentionE2eTest, ScanOverTheCapHoldsEveryoneAndRaisesOneAlert) {
  ASSERT_NO_FATAL_FAILURE(StartBackends());
  const int64_t cutoff_us = absl::ToUnixMicros(absl::Now() - absl::Hours(24 * 365));
  const std::set<std::string> expected = OldPeople(cutoff_us);

  auto dsard = StartDemoDsard(
      {{"retention_max_erasures_per_scan: 1000", "retention_max_erasures_per_scan: 10"}},
      {"retention_scan", "deadline_alert"});
  ASSERT_TRUE(dsard->AwaitEvents("retention_scan", 1, absl::Seconds(60)));
  ASSERT_TRUE(dsard->AwaitEvents("deadline_alert", 1, absl::Seconds(30)));
  const auto alerts = dsard->Events("deadline_alert");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_NE(alerts[0].find("retention.review"), std::string::npos) << alerts[0];
  EXPECT_NE(dsard->Events("retention_scan")[0].find("\"capped_tenants\":1"), std::string::npos);
  // Everyone held for the DPO, no one erased.
  EXPECT_THAT(RequestStates(), ::testing::ElementsAre(::testing::Pair(
                                   v1::PRIVACY_REQUEST_STATE_RECEIVED, expected.size())));
  EXPECT_EQ(CheckSystems(cutoff_us, /*erased=*/false), 0);
  dsard->Stop();
}

}  // namespace
}  // namespace dsar
