// PostgresEngine: SqlEngine over a PostgreSQL database through libpq (C API,
// no exceptions). `conninfo` is a libpq connection string, e.g.
// "host=/path/to/socket-dir dbname=loyalty user=postgres". Statements with
// parameters are prepared once per connection and run with PQexecPrepared
// (parameters as text, so the server types them from their context); server
// notices are not printed.
#ifndef DSAR_SERVICES_SQL_CONNECTOR_POSTGRES_ENGINE_H_
#define DSAR_SERVICES_SQL_CONNECTOR_POSTGRES_ENGINE_H_

#include <string>

#include "services/sql_connector/sql_engine.h"

namespace dsar::sql_connector {

class PostgresEngine final : public SqlEngine {
 public:
  explicit PostgresEngine(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  // UNAVAILABLE when the server cannot be reached or refuses the connection.
  absl::StatusOr<std::unique_ptr<SqlConnection>> Connect() override;
  absl::string_view name() const override { return "postgresql"; }
  std::string Placeholder(int n) const override;
  std::string EpochSeconds(absl::string_view column) const override;

 private:
  const std::string conninfo_;
};

}  // namespace dsar::sql_connector

#endif  // DSAR_SERVICES_SQL_CONNECTOR_POSTGRES_ENGINE_H_
