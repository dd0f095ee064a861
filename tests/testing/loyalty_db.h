// LoyaltyDb: the demo's loyalty database, freshly made for one test on
// either engine — PostgreSQL (a database in a throw-away cluster, loaded
// from the shipped deploy/connectors/loyalty.sql) or SQLite (a temp file,
// from tests/testing/loyalty_sqlite.sql, the same shape and people) — with
// an SqlEngine for the connector and a connection for the test's own checks.
#ifndef DSAR_TESTS_TESTING_LOYALTY_DB_H_
#define DSAR_TESTS_TESTING_LOYALTY_DB_H_

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "services/sql_connector/postgres_engine.h"
#include "services/sql_connector/sqlite_engine.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/temp_dir.h"

namespace dsar::testing {

inline std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(DSAR_SOURCE_DIR) + "/" + relative);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class LoyaltyDb {
 public:
  // `cluster` is used for "postgresql" (started by the caller) and may be
  // null for "sqlite". Returns "" or why the database could not be made.
  std::string Create(const std::string& engine, PostgresCluster* cluster, int people) {
    engine_name_ = engine;
    if (engine == "postgresql") {
      static int counter = 0;
      const std::string db = absl::StrCat("loyalty_", getpid(), "_", ++counter);
      if (std::string e = cluster->CreateDatabase(db); !e.empty()) return "createdb: " + e;
      CommandResult load =
          cluster->Psql(db, {"-v", absl::StrCat("people=", people), "-f",
                             std::string(DSAR_SOURCE_DIR) + "/deploy/connectors/loyalty.sql"});
      if (load.exit_code != 0) return "loading loyalty.sql: " + load.err;
      conninfo_ = cluster->ConnInfo(db);
      engine_ = std::make_unique<sql_connector::PostgresEngine>(conninfo_);
    } else {
      path_ = dir_.File("loyalty.db");
      std::string script = absl::StrReplaceAll(ReadSourceFile("tests/testing/loyalty_sqlite.sql"),
                                               {{"@PEOPLE@", std::to_string(people)}});
      // SQLite creates the file on first open with CREATE; the engine opens
      // existing files only.
      { std::ofstream touch(path_); }
      engine_ = std::make_unique<sql_connector::SqliteEngine>(path_);
      auto c = engine_->Connect();
      if (!c.ok()) return std::string(c.status().message());
      if (absl::Status s = (*c)->Execute(script); !s.ok()) return std::string(s.message());
    }
    auto c = engine_->Connect();
    if (!c.ok()) return std::string(c.status().message());
    check_ = std::move(*c);
    return "";
  }

  sql_connector::SqlEngine& engine() { return *engine_; }
  sql_connector::SqlConnection& check() { return *check_; }
  const std::string& conninfo() const { return conninfo_; }
  const std::string& path() const { return path_; }

  // The first column of the first row of `sql` as text ("NULL" for null,
  // "" for no row).
  std::string One(const std::string& sql) {
    std::string out;
    bool first = true;
    absl::Status s = check_->Query(sql, {}, [&](const sql_connector::Row& r) {
      if (!first) return;
      first = false;
      out = r[0].is_null() ? "NULL" : r[0].text;
    });
    return s.ok() ? out : "error: " + std::string(s.message());
  }
  // Every row of `sql`, columns joined by "|", rows by "\n".
  std::string All(const std::string& sql) {
    std::string out;
    absl::Status s = check_->Query(sql, {}, [&](const sql_connector::Row& r) {
      for (size_t i = 0; i < r.size(); ++i) {
        absl::StrAppend(&out, i ? "|" : "", r[i].is_null() ? "NULL" : r[i].text);
      }
      out += "\n";
    });
    return s.ok() ? out : "error: " + std::string(s.message());
  }

 private:
  std::string engine_name_;
  TempDir dir_;
  std::string conninfo_, path_;
  std::unique_ptr<sql_connector::SqlEngine> engine_;
  std::unique_ptr<sql_connector::SqlConnection> check_;
};

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_LOYALTY_DB_H_
