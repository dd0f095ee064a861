#include "services/sql_connector/connection_pool.h"

namespace dsar::sql_connector {

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    while (!idle_.empty()) {
      std::unique_ptr<SqlConnection> c = std::move(idle_.back());
      idle_.pop_back();
      if (c->healthy()) return Lease(this, std::move(c));
    }
  }
  auto c = engine_->Connect();
  if (!c.ok()) return c.status();
  return Lease(this, std::move(*c));
}

void ConnectionPool::Return(std::unique_ptr<SqlConnection> c) {
  if (!c->healthy()) return;
  absl::MutexLock lock(&mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
}

}  // namespace dsar::sql_connector
