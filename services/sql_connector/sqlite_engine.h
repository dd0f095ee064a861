// SqliteEngine: SqlEngine over an existing SQLite database file (sqlite3's C
// API, no exceptions). Connections wait up to `busy_timeout` for a lock and
// enforce foreign keys, like a PostgreSQL database would; prepared
// statements are cached per connection.
#ifndef DSAR_SERVICES_SQL_CONNECTOR_SQLITE_ENGINE_H_
#define DSAR_SERVICES_SQL_CONNECTOR_SQLITE_ENGINE_H_

#include <string>

#include "absl/time/time.h"
#include "services/sql_connector/sql_engine.h"

namespace dsar::sql_connector {

class SqliteEngine final : public SqlEngine {
 public:
  explicit SqliteEngine(std::string path, absl::Duration busy_timeout = absl::Seconds(5))
      : path_(std::move(path)), busy_timeout_(busy_timeout) {}
  // UNAVAILABLE when the file cannot be opened (it is never created here).
  absl::StatusOr<std::unique_ptr<SqlConnection>> Connect() override;
  absl::string_view name() const override { return "sqlite"; }
  std::string Placeholder(int n) const override;
  std::string EpochSeconds(absl::string_view column) const override;
  // Takes the write lock at once: a deferred transaction that upgrades later
  // could fail with SQLITE_BUSY without waiting.
  absl::string_view BeginWrite() const override { return "BEGIN IMMEDIATE"; }

 private:
  const std::string path_;
  const absl::Duration busy_timeout_;
};

}  // namespace dsar::sql_connector

#endif  // DSAR_SERVICES_SQL_CONNECTOR_SQLITE_ENGINE_H_
