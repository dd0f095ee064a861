// ConnectionPool: reuses an engine's connections across calls (a PostgreSQL
// connection costs a few milliseconds to open), dropping those that broke.
// Connections are opened on demand; at most `max_idle` are kept. Thread-safe.
#ifndef DSAR_SERVICES_SQL_CONNECTOR_CONNECTION_POOL_H_
#define DSAR_SERVICES_SQL_CONNECTOR_CONNECTION_POOL_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/sql_connector/sql_engine.h"

namespace dsar::sql_connector {

class ConnectionPool {
 public:
  // A connection lent to one caller; goes back to the pool when destroyed.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<SqlConnection> c)
        : pool_(pool), connection_(std::move(c)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease() {
      if (pool_ != nullptr && connection_ != nullptr) pool_->Return(std::move(connection_));
    }
    SqlConnection* operator->() const { return connection_.get(); }
    SqlConnection& operator*() const { return *connection_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<SqlConnection> connection_;
  };

  // `engine` is not owned and must outlive the pool.
  explicit ConnectionPool(SqlEngine* engine, size_t max_idle = 8)
      : engine_(engine), max_idle_(max_idle) {}

  // An idle connection, or a new one (UNAVAILABLE when it cannot connect).
  absl::StatusOr<Lease> Acquire();
  SqlEngine& engine() const { return *engine_; }

 private:
  void Return(std::unique_ptr<SqlConnection> c);

  SqlEngine* const engine_;
  const size_t max_idle_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<SqlConnection>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dsar::sql_connector

#endif  // DSAR_SERVICES_SQL_CONNECTOR_CONNECTION_POOL_H_
