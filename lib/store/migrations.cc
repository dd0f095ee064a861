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
      {3, "consent", R"sql(
        -- Append-only consent history. subject_key is HMAC-SHA256 of the
        -- caller's subject id under the tenant's key: no identifier at rest.
        CREATE TABLE consent_events (
          seq            INTEGER PRIMARY KEY,
          tenant_id      TEXT NOT NULL,
          event_id       TEXT NOT NULL,
          receipt_id     TEXT NOT NULL,
          subject_key    BLOB NOT NULL,
          purpose        TEXT NOT NULL,
          action         INTEGER NOT NULL,
          notice_version TEXT NOT NULL,
          language       TEXT NOT NULL,
          lawful_basis   INTEGER NOT NULL,
          channel        TEXT NOT NULL,
          actor          TEXT NOT NULL,
          reason         TEXT NOT NULL,
          occurred_at_us INTEGER NOT NULL,
          recorded_at_us INTEGER NOT NULL,
          UNIQUE (tenant_id, event_id)
        );
        CREATE INDEX consent_events_by_subject
          ON consent_events (tenant_id, subject_key, seq);
        CREATE INDEX consent_events_by_receipt ON consent_events (tenant_id, receipt_id);
        -- Current state per (subject, purpose): answers CheckConsent.
        CREATE TABLE consent_state (
          tenant_id      TEXT NOT NULL,
          subject_key    BLOB NOT NULL,
          purpose        TEXT NOT NULL,
          state          INTEGER NOT NULL,
          receipt_id     TEXT NOT NULL,
          notice_version TEXT NOT NULL,
          changed_at_us  INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, subject_key, purpose)
        ) WITHOUT ROWID;
        -- Outbox of work for connectors, written in the same transaction as
        -- the change that needs it; executed by the connector dispatcher.
        CREATE TABLE outbox_tasks (
          task_id        TEXT PRIMARY KEY,
          tenant_id      TEXT NOT NULL,
          kind           TEXT NOT NULL,
          connector      TEXT NOT NULL,
          resource       TEXT NOT NULL,
          payload        BLOB NOT NULL,
          state          TEXT NOT NULL,
          attempts       INTEGER NOT NULL DEFAULT 0,
          next_attempt_us INTEGER NOT NULL,
          last_error     TEXT NOT NULL DEFAULT '',
          created_at_us  INTEGER NOT NULL,
          updated_at_us  INTEGER NOT NULL
        );
        CREATE INDEX outbox_tasks_runnable ON outbox_tasks (state, next_attempt_us);
        CREATE INDEX outbox_tasks_by_resource ON outbox_tasks (tenant_id, resource);
      )sql"},
  };
  return *migrations;
}

}  // namespace dsar::store
