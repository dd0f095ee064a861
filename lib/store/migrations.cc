#include "lib/store/migrations.h"

namespace dsar::store {

// Conventions: every table has tenant_id; times are INTEGER microseconds since
// the Unix epoch (UTC); ids are TEXT.
const std::vector<Migration>& DsarMigrations() {
  static const std::vector<Migration>* const migrations = new std::vector<Migration>{
      {1, "idempotency_keys", R"sql(
        CREATE TABLE idempotency_keys (
          tenant_id   TEXT NOT NULL,
          request_id  TEXT NOT NULL,
          method      TEXT NOT NULL,
          fingerprint BLOB NOT NULL,
          response    BLOB NOT NULL,
          created_at  INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, request_id)
        ) WITHOUT ROWID;
      )sql"},
      {2, "audit_events", R"sql(
        CREATE TABLE audit_events (
          seq        INTEGER PRIMARY KEY,
          tenant_id  TEXT NOT NULL,
          time_us    INTEGER NOT NULL,
          principal  TEXT NOT NULL,
          role       TEXT NOT NULL,
          method     TEXT NOT NULL,
          resource   TEXT NOT NULL,
          outcome    TEXT NOT NULL,
          request_id TEXT NOT NULL,
          prev_hash  TEXT NOT NULL,
          hash       TEXT NOT NULL
        );
        CREATE INDEX audit_events_by_tenant ON audit_events (tenant_id, seq);
        CREATE TABLE audit_head (
          id   INTEGER PRIMARY KEY CHECK (id = 1),
          seq  INTEGER NOT NULL,
          hash TEXT NOT NULL
        );
      )sql"},
  };
  return *migrations;
}

}  // namespace dsar::store
