// The 12-month retention rule as the demo runs it: a real dsard started with
// deploy/dsard.dev.textproto (only @VAR@ and the ports replaced, so the test
// fails when the shipped demo config stops running the rule) and the booking
// and CRM refbackends seeded exactly as `tools/dev run` seeds them (seed 1,
// 1000 people), on a fresh directory. What the erasures did is read from the
// refbackends' own SQLite files. Synchronisation: dsard's log lines
// (privacy_request_completed), never sleeps.
#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

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
  }

  std::unique_ptr<WatchedProcess> StartBackend(const std::string& kind, int* port) {
    // As tools/dev run starts them (there on fixed ports).
    auto p = std::make_unique<WatchedProcess>(
        std::vector<std::string>{REFBACKEND_PATH, "--kind=" + kind, "--listen=127.0.0.1:0",
                                 "--db=" + dir_.File(kind + ".db"), "--seed=1", "--people=1000"},
        std::vector<std::string>{});
    *port = p->AwaitReady(absl::Seconds(60));
    return p;
  }

  // deploy/dsard.dev.textproto with its @VAR@ and fixed ports replaced.
  void WriteDemoConfig(int booking_port, int crm_port) {
    const std::string demo = ReadFile(DEV_CONFIG_PATH);
    ASSERT_FALSE(demo.empty());
    const std::string config =
        absl::StrReplaceAll(demo, {{"@VAR@", dir_.path()},
                                   {"127.0.0.1:50051", "127.0.0.1:0"},
                                   {"127.0.0.1:9464", "127.0.0.1:0"},
                                   {"127.0.0.1:50061", absl::StrCat("127.0.0.1:", booking_port)},
                                   {"127.0.0.1:50062", absl::StrCat("127.0.0.1:", crm_port)}});
    std::ofstream(dir_.File("dsard.textproto")) << config;
  }

  ::dsar::testing::TempDir dir_;
};

TEST_F(RetentionE2eTest, DemoErasesEveryoneWhoseRelationshipEndedOverAYearAgo) {
  int booking_port = 0, crm_port = 0;
  auto booking = StartBackend("booking", &booking_port);
  auto crm = StartBackend("crm", &crm_port);
  ASSERT_GT(booking_port, 0);
  ASSERT_GT(crm_port, 0);
  const std::vector<System> systems = {
      {"booking", dir_.File("booking.db"), "people",
       "SELECT (SELECT count(*) FROM people WHERE id = ?1) + "
       "(SELECT count(*) FROM bookings WHERE person_id = ?1) + "
       "(SELECT count(*) FROM payments WHERE person_id = ?1)"},
      {"crm", dir_.File("crm.db"), "contacts",
       "SELECT (SELECT count(*) FROM contacts WHERE id = ?1 AND (name IS NOT NULL OR email IS NOT "
       "NULL OR phone IS NOT NULL OR customer_id IS NOT NULL)) + "
       "(SELECT count(*) FROM notes WHERE contact_id = ?1) + "
       "(SELECT count(*) FROM emails WHERE contact_id = ?1) + "
       "(SELECT count(*) FROM documents WHERE contact_id = ?1)"},
  };
  // What each system holds before dsard starts.
  std::vector<std::map<std::string, Person>> people;
  std::vector<std::map<int64_t, int64_t>> before;
  for (const System& system : systems) {
    people.push_back(People(system.db, system.people_table));
    ASSERT_EQ(people.back().size(), 1000u) << system.name;
    before.push_back(Traces(system, people.back()));
  }

  ASSERT_NO_FATAL_FAILURE(WriteDemoConfig(booking_port, crm_port));
  const absl::Time started = absl::Now();
  const int64_t cutoff_us = absl::ToUnixMicros(started - absl::Hours(24 * 365));
  auto old = [&](const Person& p) { return p.ended_at_us > 0 && p.ended_at_us < cutoff_us; };
  std::set<std::string> expected;  // people with a relationship ended over a year ago somewhere
  for (size_t i = 0; i < systems.size(); ++i) {
    int n = 0;
    for (const auto& [email, p] : people[i]) {
      if (old(p)) ++n, expected.insert(email);
    }
    ASSERT_GT(n, 100) << systems[i].name;
  }

  WatchedProcess dsard({DSARD_PATH, "--config", dir_.File("dsard.textproto")}, {kCompleted});
  const int port = dsard.AwaitReady(absl::Seconds(30));
  ASSERT_GT(port, 0);
  // Within 60 s of start every such person's erasure has completed.
  ASSERT_TRUE(
      dsard.AwaitEvents(kCompleted, expected.size(), absl::Seconds(60) - (absl::Now() - started)))
      << dsard.Events(kCompleted).size() << " of " << expected.size() << " completed in 60 s";

  // Each is a completed RETENTION erasure.
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto stub = v1::PrivacyRequestService::NewStub(channel);
  int completed = 0, total = 0;
  v1::ListPrivacyRequestsRequest list;
  list.set_page_size(100);
  for (;;) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kDpoToken));
    v1::ListPrivacyRequestsResponse page;
    ASSERT_TRUE(stub->ListPrivacyRequests(&ctx, list, &page).ok());
    for (const auto& r : page.privacy_requests()) {
      ++total;
      EXPECT_EQ(r.type(), v1::PRIVACY_REQUEST_TYPE_ERASURE);
      EXPECT_EQ(r.source(), v1::PRIVACY_REQUEST_SOURCE_RETENTION);
      completed += r.state() == v1::PRIVACY_REQUEST_STATE_COMPLETED;
    }
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(total, static_cast<int>(expected.size()));
  EXPECT_EQ(completed, total);

  // In each system's own database: nothing identifying left of those whose
  // relationship there ended over a year ago (unless on legal hold); everyone
  // else untouched.
  int erased = 0, kept = 0;
  for (size_t i = 0; i < systems.size(); ++i) {
    const auto after = Traces(systems[i], people[i]);
    for (const auto& [email, p] : people[i]) {
      if (old(p) && !p.legal_hold) {
        EXPECT_EQ(after.at(p.id), 0) << systems[i].name << " person " << p.id;
        ++erased;
      } else {
        EXPECT_GT(before[i].at(p.id), 0) << systems[i].name << " person " << p.id;
        EXPECT_EQ(after.at(p.id), before[i].at(p.id)) << systems[i].name << " person " << p.id;
        ++kept;
      }
    }
  }
  EXPECT_GT(erased, 200);
  EXPECT_GT(kept, 1000);
  dsard.Stop();
}

}  // namespace
}  // namespace dsar
