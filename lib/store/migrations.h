// Numbered schema migrations.
//
// The database's PRAGMA user_version is the number of the last migration
// applied. At open, every migration with a higher number is applied in order,
// all in one transaction, and recorded in schema_migrations. Re-opening is a
// no-op; a database whose version is newer than this binary knows is refused.
#ifndef DSAR_LIB_STORE_MIGRATIONS_H_
#define DSAR_LIB_STORE_MIGRATIONS_H_

#include <vector>

namespace dsar::store {

struct Migration {
  int version;       // 1, 2, 3... without gaps
  const char* name;  // short description, e.g. "audit_events"
  const char* sql;   // one or more statements
};

// The schema of dsard: every module's tables, in order. Append only; never
// edit a migration that has shipped.
const std::vector<Migration>& DsarMigrations();

}  // namespace dsar::store

#endif  // DSAR_LIB_STORE_MIGRATIONS_H_
