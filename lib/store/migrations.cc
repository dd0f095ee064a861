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
      {4, "deadlines", R"sql(
        -- Every obligation with a clock (lib/deadline). due_at_us moves with
        -- extensions (due_version + 1, alert levels re-armed) and pauses.
        -- next_fire_at_us is when the next alert level (next_offset_us
        -- relative to due) fires; NULL when closed, paused or none is left.
        CREATE TABLE deadlines (
          tenant_id         TEXT NOT NULL,
          deadline_id       TEXT NOT NULL,
          kind              TEXT NOT NULL,
          resource          TEXT NOT NULL,
          state             TEXT NOT NULL,  -- open | completed | cancelled
          started_at_us     INTEGER NOT NULL,
          initial_due_at_us INTEGER NOT NULL,
          due_at_us         INTEGER NOT NULL,
          due_version       INTEGER NOT NULL,
          paused_at_us      INTEGER,
          paused_total_us   INTEGER NOT NULL,
          extension_count   INTEGER NOT NULL,
          extension_reason  TEXT NOT NULL,
          levels_fired      INTEGER NOT NULL,
          next_offset_us    INTEGER,
          next_fire_at_us   INTEGER,
          closed_at_us      INTEGER,
          created_at_us     INTEGER NOT NULL,
          updated_at_us     INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, deadline_id)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX deadlines_one_open_per_key
          ON deadlines (tenant_id, kind, resource) WHERE state = 'open';
        CREATE INDEX deadlines_by_resource
          ON deadlines (tenant_id, resource, kind, created_at_us);
        CREATE INDEX deadlines_by_due ON deadlines (tenant_id, state, due_at_us, deadline_id);
        CREATE INDEX deadlines_by_close
          ON deadlines (tenant_id, closed_at_us) WHERE closed_at_us IS NOT NULL;
        -- The scheduler's index: only deadlines with a pending alert level.
        CREATE INDEX deadlines_next_fire ON deadlines (next_fire_at_us, tenant_id, deadline_id)
          WHERE next_fire_at_us IS NOT NULL;
        -- Alert outbox: one row per fired level, written in the same
        -- transaction that advances the deadline, so a level fires exactly
        -- once. seq orders alerts for WatchAlerts resumption (never reused).
        CREATE TABLE deadline_alerts (
          seq                INTEGER PRIMARY KEY AUTOINCREMENT,
          tenant_id          TEXT NOT NULL,
          alert_id           TEXT NOT NULL UNIQUE,
          deadline_id        TEXT NOT NULL,
          kind               TEXT NOT NULL,
          resource           TEXT NOT NULL,
          due_version        INTEGER NOT NULL,
          offset_us          INTEGER NOT NULL,  -- level: <0 warning, 0 due, >0 overdue
          due_at_us          INTEGER NOT NULL,
          fire_at_us         INTEGER NOT NULL,  -- when the level was due to fire
          fired_at_us        INTEGER NOT NULL,  -- when it fired (later after downtime)
          payload            TEXT NOT NULL,     -- JSON body sent to sinks
          acknowledged_at_us INTEGER,
          acknowledged_by    TEXT NOT NULL DEFAULT '',
          UNIQUE (tenant_id, deadline_id, due_version, offset_us)
        );
        CREATE INDEX deadline_alerts_by_tenant ON deadline_alerts (tenant_id, seq);
        -- Delivery of each alert to each configured sink (log, webhooks);
        -- retried with backoff, survives restarts.
        CREATE TABLE deadline_alert_deliveries (
          alert_seq       INTEGER NOT NULL,
          sink            TEXT NOT NULL,
          tenant_id       TEXT NOT NULL,
          state           TEXT NOT NULL,  -- pending | delivered | failed
          attempts        INTEGER NOT NULL DEFAULT 0,
          next_attempt_us INTEGER NOT NULL,
          last_error      TEXT NOT NULL DEFAULT '',
          delivered_at_us INTEGER,
          PRIMARY KEY (alert_seq, sink)
        ) WITHOUT ROWID;
        CREATE INDEX deadline_alert_deliveries_pending
          ON deadline_alert_deliveries (sink, next_attempt_us, alert_seq) WHERE state = 'pending';
      )sql"},
      {5, "connector_outbox", R"sql(
        -- Connector dispatcher (lib/connector). next_attempt_us is when the
        -- dispatcher next looks at a task: its retry time (pending, failed,
        -- waiting), its lease expiry (running, held by lease_owner), or
        -- 9223372036854775807 (never: done, skipped, dead). result is the
        -- connector's answer as JSON (counts, kept records, skip reason).
        ALTER TABLE outbox_tasks ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
        ALTER TABLE outbox_tasks ADD COLUMN result TEXT NOT NULL DEFAULT '';
        CREATE INDEX outbox_tasks_due ON outbox_tasks (connector, next_attempt_us);
        CREATE INDEX outbox_tasks_by_tenant
          ON outbox_tasks (tenant_id, created_at_us, task_id);
      )sql"},
      {6, "breaches", R"sql(
        -- Breach register (lib/breach). A breach spans tenants: breaches.tenant_id
        -- is the tenant context it was reported in; breach_tenants holds the
        -- affected tenants (controllers), their 72-hour clocks and first
        -- notification times, and is what every tenant's read is scoped by.
        CREATE TABLE breaches (
          seq                INTEGER PRIMARY KEY AUTOINCREMENT,
          tenant_id          TEXT NOT NULL,
          breach_id          TEXT NOT NULL UNIQUE,
          state              INTEGER NOT NULL,  -- 1 open, 2 closed
          processor_reported INTEGER NOT NULL,  -- 1: by a principal of all tenants
          current_version    INTEGER NOT NULL,
          title              TEXT NOT NULL,
          risk               INTEGER NOT NULL,  -- risk assessment of the current version
          aware_at_us        INTEGER NOT NULL,
          reported_at_us     INTEGER NOT NULL,
          reported_by        TEXT NOT NULL,
          updated_at_us      INTEGER NOT NULL,
          closed_at_us       INTEGER,
          closed_by          TEXT NOT NULL DEFAULT '',
          close_note         TEXT NOT NULL DEFAULT ''
        );
        -- Every version of a breach's information (Art. 33(4)); details is
        -- JSON keyed by dsar.v1.BreachDetails field names.
        CREATE TABLE breach_versions (
          tenant_id      TEXT NOT NULL,
          breach_id      TEXT NOT NULL,
          version        INTEGER NOT NULL,
          details        TEXT NOT NULL,
          changed_fields TEXT NOT NULL,  -- comma-separated field names
          change_note    TEXT NOT NULL,
          author         TEXT NOT NULL,
          recorded_at_us INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, breach_id, version)
        ) WITHOUT ROWID;
        CREATE TABLE breach_tenants (
          tenant_id                 TEXT NOT NULL,
          breach_id                 TEXT NOT NULL,
          breach_seq                INTEGER NOT NULL,
          aware_at_us               INTEGER NOT NULL,
          due_at_us                 INTEGER NOT NULL,
          deadline_id               TEXT NOT NULL DEFAULT '',
          controller_notified_at_us INTEGER,
          authority_notified_at_us  INTEGER,
          subjects_notified_at_us   INTEGER,
          added_at_us               INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, breach_id)
        ) WITHOUT ROWID;
        CREATE INDEX breach_tenants_by_seq ON breach_tenants (tenant_id, breach_seq);
        CREATE INDEX breach_tenants_by_breach ON breach_tenants (breach_id, tenant_id);
        -- Notifications of controllers, authorities and data subjects;
        -- tenant_id is the controller each was made for.
        CREATE TABLE breach_notifications (
          seq             INTEGER PRIMARY KEY AUTOINCREMENT,
          tenant_id       TEXT NOT NULL,
          breach_id       TEXT NOT NULL,
          notification_id TEXT NOT NULL UNIQUE,
          recipient       INTEGER NOT NULL,  -- 1 controller, 2 authority, 3 data subjects
          notified_at_us  INTEGER NOT NULL,
          channel         TEXT NOT NULL,
          reference       TEXT NOT NULL,
          content_version INTEGER NOT NULL,
          delay_reason    TEXT NOT NULL,
          late            INTEGER NOT NULL,
          recorded_by     TEXT NOT NULL,
          recorded_at_us  INTEGER NOT NULL
        );
        CREATE INDEX breach_notifications_by_breach
          ON breach_notifications (breach_id, tenant_id, seq);
      )sql"},
      {7, "privacy_requests", R"sql(
        -- Data-subject requests (lib/privacy_requests). Identifier values are never
        -- stored in clear: sealed_subject holds them encrypted (NULL once the
        -- request no longer needs them); privacy_request_subjects holds keyed
        -- HMACs for duplicate detection. export_key is the request's bundle key
        -- wrapped under the master key (NULL once destroyed).
        CREATE TABLE privacy_requests (
          tenant_id              TEXT NOT NULL,
          request_id             TEXT NOT NULL,
          type                   INTEGER NOT NULL,
          state                  INTEGER NOT NULL,
          stage                  TEXT NOT NULL,
          needs_work             INTEGER NOT NULL,
          source                 INTEGER NOT NULL,
          requester_relation     INTEGER NOT NULL,
          requester_channel      TEXT NOT NULL,
          requester_reference    TEXT NOT NULL,
          identifier_types       TEXT NOT NULL,
          callback_url           TEXT NOT NULL,
          creator                TEXT NOT NULL,
          received_at_us         INTEGER NOT NULL,
          created_at_us          INTEGER NOT NULL,
          updated_at_us          INTEGER NOT NULL,
          closed_at_us           INTEGER,
          processor_due_at_us    INTEGER NOT NULL,
          gdpr_due_at_us         INTEGER NOT NULL,
          clock_paused           INTEGER NOT NULL,
          paused_total_us        INTEGER NOT NULL,
          verification_method    INTEGER NOT NULL,
          verification_note      TEXT NOT NULL,
          verifier               TEXT NOT NULL,
          verified_at_us         INTEGER,
          extension_count        INTEGER NOT NULL,
          extension_reason       TEXT NOT NULL,
          subject_informed_at_us INTEGER,
          rejection_reason       INTEGER NOT NULL,
          rejection_detail       TEXT NOT NULL,
          cancel_reason          TEXT NOT NULL,
          failure_reason         TEXT NOT NULL,
          duplicate_count        INTEGER NOT NULL,
          sealed_subject         BLOB,
          export_key             BLOB,
          PRIMARY KEY (tenant_id, request_id)
        ) WITHOUT ROWID;
        CREATE INDEX privacy_requests_by_created
          ON privacy_requests (tenant_id, created_at_us, request_id);
        -- The worker's queue: requests whose next step is dsard's own.
        CREATE INDEX privacy_requests_needing_work
          ON privacy_requests (updated_at_us) WHERE needs_work = 1;
        CREATE TABLE privacy_request_subjects (
          tenant_id   TEXT NOT NULL,
          subject_key BLOB NOT NULL,
          request_id  TEXT NOT NULL,
          type        INTEGER NOT NULL,
          open        INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, subject_key, request_id)
        ) WITHOUT ROWID;
        CREATE INDEX privacy_request_subjects_by_request
          ON privacy_request_subjects (tenant_id, request_id);
        -- Connector tasks of each request and their outcomes (counts, kept
        -- records with reasons; no personal data): the completion record.
        CREATE TABLE privacy_request_tasks (
          tenant_id     TEXT NOT NULL,
          request_id    TEXT NOT NULL,
          task_id       TEXT NOT NULL,
          phase         TEXT NOT NULL,  -- export | erase | verify
          connector     TEXT NOT NULL,
          state         TEXT NOT NULL,
          result        TEXT NOT NULL DEFAULT '',
          last_error    TEXT NOT NULL DEFAULT '',
          updated_at_us INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, request_id, task_id)
        ) WITHOUT ROWID;
        CREATE TABLE privacy_request_events (
          seq        INTEGER PRIMARY KEY,
          tenant_id  TEXT NOT NULL,
          request_id TEXT NOT NULL,
          from_state INTEGER NOT NULL,
          to_state   INTEGER NOT NULL,
          actor      TEXT NOT NULL,
          detail     TEXT NOT NULL,
          at_us      INTEGER NOT NULL
        );
        CREATE INDEX privacy_request_events_by_request
          ON privacy_request_events (tenant_id, request_id, seq);
        -- Later filings for the same person and type, linked to the open request.
        CREATE TABLE privacy_request_links (
          tenant_id           TEXT NOT NULL,
          request_id          TEXT NOT NULL,
          link_id             TEXT NOT NULL,
          requester_relation  INTEGER NOT NULL,
          requester_channel   TEXT NOT NULL,
          requester_reference TEXT NOT NULL,
          callback_url        TEXT NOT NULL,
          creator             TEXT NOT NULL,
          created_at_us       INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, request_id, link_id)
        ) WITHOUT ROWID;
        CREATE TABLE privacy_request_exports (
          tenant_id       TEXT NOT NULL,
          request_id      TEXT NOT NULL,
          state           TEXT NOT NULL,  -- available | expired
          size_bytes      INTEGER NOT NULL,
          sha256          TEXT NOT NULL,
          records         INTEGER NOT NULL,
          created_at_us   INTEGER NOT NULL,
          expires_at_us   INTEGER NOT NULL,
          destroyed_at_us INTEGER,
          PRIMARY KEY (tenant_id, request_id)
        ) WITHOUT ROWID;
        CREATE INDEX privacy_request_exports_expiring
          ON privacy_request_exports (expires_at_us) WHERE state = 'available';
        -- Each download of an export (ISO/IEC 27701 8.5.3): what, to whom, when.
        CREATE TABLE privacy_request_disclosures (
          seq             INTEGER PRIMARY KEY,
          tenant_id       TEXT NOT NULL,
          disclosure_id   TEXT NOT NULL UNIQUE,
          request_id      TEXT NOT NULL,
          what            TEXT NOT NULL,
          recipient       INTEGER NOT NULL,
          recipient_name  TEXT NOT NULL,
          principal       TEXT NOT NULL,
          disclosed_at_us INTEGER NOT NULL
        );
        CREATE INDEX privacy_request_disclosures_by_request
          ON privacy_request_disclosures (tenant_id, request_id, seq);
        -- Status callbacks to controllers, written with each state change.
        CREATE TABLE privacy_request_callbacks (
          seq             INTEGER PRIMARY KEY,
          tenant_id       TEXT NOT NULL,
          request_id      TEXT NOT NULL,
          url             TEXT NOT NULL,
          body            TEXT NOT NULL,
          state           TEXT NOT NULL,  -- pending | delivered | failed
          attempts        INTEGER NOT NULL DEFAULT 0,
          next_attempt_us INTEGER NOT NULL,
          last_error      TEXT NOT NULL DEFAULT '',
          delivered_at_us INTEGER
        );
        CREATE INDEX privacy_request_callbacks_pending
          ON privacy_request_callbacks (next_attempt_us, seq) WHERE state = 'pending';
      )sql"},
      // The sweep of request_ids older than idempotency_retention_days.
      {8, "idempotency_keys_by_age", R"sql(
        CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
      )sql"},
      {9, "deadline_alerts_compact", R"sql(
        -- Alerts without copies: an alert's id is derived from its unique
        -- key (deadline, due version, level; lib/deadline/alerts.h), so the
        -- separate alert_id index goes, and kind and resource are read from
        -- the deadline (they never change). Firing then writes a short row,
        -- the unique key and the (tenant, seq) entry per alert. Alerts fired
        -- before keep their random ids (legacy_alert_id) and, when they were
        -- stored with one, their body (legacy_payload); seq is kept, so
        -- WatchAlerts clients resume where they were, and the AUTOINCREMENT
        -- counter carries over (a seq is never reused).
        CREATE TABLE deadline_alerts_v9 (
          seq                INTEGER PRIMARY KEY AUTOINCREMENT,
          tenant_id          TEXT NOT NULL,
          deadline_id        TEXT NOT NULL,
          due_version        INTEGER NOT NULL,
          offset_us          INTEGER NOT NULL,  -- level: <0 warning, 0 due, >0 overdue
          due_at_us          INTEGER NOT NULL,
          fire_at_us         INTEGER NOT NULL,  -- when the level was due to fire
          fired_at_us        INTEGER NOT NULL,  -- when it fired (later after downtime)
          acknowledged_at_us INTEGER,
          acknowledged_by    TEXT,              -- NULL until acknowledged
          legacy_alert_id    TEXT,              -- NULL for alerts fired since migration 9
          legacy_payload     TEXT,              -- body stored before set-based firing
          UNIQUE (tenant_id, deadline_id, due_version, offset_us)
        );
        INSERT INTO deadline_alerts_v9 (seq, tenant_id, deadline_id, due_version, offset_us,
            due_at_us, fire_at_us, fired_at_us, acknowledged_at_us, acknowledged_by,
            legacy_alert_id, legacy_payload)
          SELECT seq, tenant_id, deadline_id, due_version, offset_us, due_at_us, fire_at_us,
                 fired_at_us, acknowledged_at_us, NULLIF(acknowledged_by, ''), alert_id,
                 NULLIF(payload, '')
          FROM deadline_alerts ORDER BY seq;
        DELETE FROM sqlite_sequence WHERE name = 'deadline_alerts_v9';
        INSERT INTO sqlite_sequence (name, seq)
          SELECT 'deadline_alerts_v9', seq FROM sqlite_sequence WHERE name = 'deadline_alerts';
        DROP TABLE deadline_alerts;
        ALTER TABLE deadline_alerts_v9 RENAME TO deadline_alerts;
        CREATE INDEX deadline_alerts_by_tenant ON deadline_alerts (tenant_id, seq);
        CREATE UNIQUE INDEX deadline_alerts_by_legacy_id
          ON deadline_alerts (legacy_alert_id) WHERE legacy_alert_id IS NOT NULL;
      )sql"},
      {10, "deadline_alert_sink_cursors", R"sql(
        -- Alert delivery by cursor (lib/deadline/dispatcher.h): every alert
        -- with from_seq < seq <= delivered_seq has been handed to the sink,
        -- delivered unless deadline_alert_deliveries holds a row for it (a
        -- retry still pending, or failed for good); alerts after
        -- delivered_seq are pending. Firing writes no row per alert and sink,
        -- only this row once per sink (from_seq: the last alert before the
        -- sink's first). Not per tenant: a sink serves every tenant, like
        -- the writer's audit_head. deadline_alert_deliveries keeps its rows:
        -- those written before stay true (pending ones are retried from it),
        -- so each sink's cursor starts after them.
        CREATE TABLE deadline_alert_sinks (
          sink          TEXT PRIMARY KEY,
          from_seq      INTEGER NOT NULL,
          delivered_seq INTEGER NOT NULL,
          updated_at_us INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO deadline_alert_sinks (sink, from_seq, delivered_seq, updated_at_us)
          SELECT sink, MAX(alert_seq), MAX(alert_seq), 0 FROM deadline_alert_deliveries
          GROUP BY sink;
        -- Deliveries by sink and state (pending, delivered, failed), whether
        -- they have a row or are counted by a cursor.
        CREATE VIEW deadline_alert_delivery_counts (sink, state, n) AS
          SELECT sink, state, SUM(n) FROM (
            SELECT sink, state, COUNT(*) AS n FROM deadline_alert_deliveries
              GROUP BY sink, state
            UNION ALL
            SELECT s.sink, 'pending',
                   (SELECT COUNT(*) FROM deadline_alerts a WHERE a.seq > s.delivered_seq)
              FROM deadline_alert_sinks s
            UNION ALL
            SELECT s.sink, 'delivered',
                   (SELECT COUNT(*) FROM deadline_alerts a
                      WHERE a.seq > s.from_seq AND a.seq <= s.delivered_seq)
                   - (SELECT COUNT(*) FROM deadline_alert_deliveries d
                        WHERE d.sink = s.sink AND d.alert_seq > s.from_seq
                          AND d.alert_seq <= s.delivered_seq)
              FROM deadline_alert_sinks s)
          GROUP BY sink, state;
      )sql"},
      {11, "consent_state_from_events", R"sql(
        -- RecordConsent writes no random-keyed B-tree of its own (issue 4):
        -- a subject's current state per purpose is its latest event (found
        -- through consent_events_by_subject; answered from memory by
        -- lib/consent/consent_state_index.h), and each event carries the
        -- request that wrote it, so a retry finds its answer among the
        -- subject's few events instead of in idempotency_keys. Rows before
        -- this migration have no request (their keys stay in
        -- idempotency_keys, where RecordConsent still looks). consent_state
        -- always equalled the latest event per (subject, purpose): it goes.
        ALTER TABLE consent_events ADD COLUMN request_id TEXT;
        ALTER TABLE consent_events ADD COLUMN request_fingerprint BLOB;
        DROP TABLE consent_state;
      )sql"},
      {12, "deadlines_next_fire_covering", R"sql(
        -- Firing reads due deadlines in (next_fire_at_us, tenant_id,
        -- deadline_id) order and needs their state, level, due time and due
        -- version (lib/deadline/firing.cc): with those in the index, a burst
        -- is one index range with no lookup of each deadline's table row
        -- (~1 us per alert of ~3). The entries that change are the ones that
        -- moved already (every update of these columns also sets
        -- next_fire_at_us). Rebuilding it takes ~1.5 s per million open
        -- deadlines, once.
        DROP INDEX deadlines_next_fire;
        CREATE INDEX deadlines_next_fire
          ON deadlines (next_fire_at_us, tenant_id, deadline_id, state, next_offset_us,
                        due_at_us, due_version)
          WHERE next_fire_at_us IS NOT NULL;
      )sql"},
      {13, "deadline_state_count_indexes", R"sql(
        -- The metrics endpoint counts deadlines by (tenant, kind, state), and
        -- the open unpaused ones past due per (tenant, kind), on every scrape
        -- (lib/ops/state_counts.cc): with 1,100,000 deadlines those were a
        -- table scan and an index scan with a row lookup each, ~0.8 and
        -- ~0.9 s. The first becomes a scan of this narrower index in its own
        -- order (no row reads, no sort); the second a range of the partial
        -- index per (tenant, kind), as long as the overdue ones. Neither
        -- index changes when a deadline fires (its state and due time stay).
        CREATE INDEX deadlines_by_kind_state ON deadlines (tenant_id, kind, state);
        CREATE INDEX deadlines_open_by_due ON deadlines (tenant_id, kind, due_at_us)
          WHERE state = 'open' AND paused_at_us IS NULL;
      )sql"},
      {14, "consent_event_chains", R"sql(
        -- Each consent event points at the previous event of its (tenant,
        -- subject, purpose): with the latest one of each held in memory
        -- (lib/consent/consent_state_index.h), a subject's events are found
        -- by following prev_seq from there (lib/consent/event_chains.h), and
        -- consent_events_by_subject, the one B-tree that every RecordConsent
        -- wrote at a random place (one more page to write back per event,
        -- ~80 % of a checkpoint's pages), is dropped while the index is on
        -- (consent::MatchSubjectIndex at start-up). NULL: the first event,
        -- or an anonymised one (erasure unlinks it).
        ALTER TABLE consent_events ADD COLUMN prev_seq INTEGER;
        UPDATE consent_events SET prev_seq = (
          SELECT max(p.seq) FROM consent_events p
           WHERE p.tenant_id = consent_events.tenant_id
             AND p.subject_key = consent_events.subject_key
             AND p.purpose = consent_events.purpose
             AND p.seq < consent_events.seq);
      )sql"},
      {15, "breach_authority_and_subject_clocks", R"sql(
        -- Per affected tenant, the Art. 33(1) clock towards the supervisory
        -- authority and the Art. 34 clock towards the data subjects
        -- (lib/breach/breach_clocks.h): when each started, when it is due,
        -- its deadline (deadline kinds breach.authority_notification and
        -- breach.subject_communication) and when it was closed by an
        -- exemption (risk assessed as none; an Art. 34(3)(a)/(b) exception)
        -- instead of a notification. Breaches reported before this migration
        -- keep the earlier rule for the authority: 72 hours from the tenant's
        -- aware time, without a deadline.
        ALTER TABLE breach_tenants ADD COLUMN authority_start_at_us INTEGER;
        ALTER TABLE breach_tenants ADD COLUMN authority_due_at_us INTEGER;
        ALTER TABLE breach_tenants ADD COLUMN authority_deadline_id TEXT NOT NULL DEFAULT '';
        ALTER TABLE breach_tenants ADD COLUMN authority_exempt_at_us INTEGER;
        ALTER TABLE breach_tenants ADD COLUMN subjects_start_at_us INTEGER;
        ALTER TABLE breach_tenants ADD COLUMN subjects_due_at_us INTEGER;
        ALTER TABLE breach_tenants ADD COLUMN subjects_deadline_id TEXT NOT NULL DEFAULT '';
        ALTER TABLE breach_tenants ADD COLUMN subjects_exempt_at_us INTEGER;
        UPDATE breach_tenants SET authority_start_at_us = aware_at_us,
                                  authority_due_at_us = due_at_us;
      )sql"},
      {16, "privacy_request_only_systems", R"sql(
        -- The connectors a request goes to (comma-separated names); '' for
        -- every connector. Retention erasures name the systems that reported
        -- the person's relationship ended before the cut-off
        -- (lib/privacy_requests/retention.h).
        ALTER TABLE privacy_requests ADD COLUMN only_systems TEXT NOT NULL DEFAULT '';
      )sql"},
      {17, "subject_key_schemes", R"sql(
        -- Subject keys are typed (issue 18): HMAC of (type, normalised
        -- value) per tenant, nested over the older key of the value
        -- (lib/consent/subject_keyer.h). Re-keying stored keys needs the
        -- tenant keys, which SQL does not have: keyed start-up steps do it
        -- (consent events as CUSTOMER_ID from their stored keys,
        -- lib/consent/subject_rekey.h; privacy_request_subjects from the
        -- requests' sealed identifiers, lib/privacy_requests/rekey.h), each in one
        -- transaction that also writes its row here, so each runs once.
        CREATE TABLE subject_key_schemes (
          part         TEXT PRIMARY KEY,  -- consent | privacy_requests
          scheme       INTEGER NOT NULL,
          rows_rekeyed INTEGER NOT NULL
        ) WITHOUT ROWID;
        -- A part with no keys yet has nothing to re-key: typed from the start
        -- (whoever writes first, e.g. a tool seeding the ledger).
        INSERT INTO subject_key_schemes (part, scheme, rows_rekeyed)
          SELECT 'consent', 2, 0 WHERE NOT EXISTS (SELECT 1 FROM consent_events);
        INSERT INTO subject_key_schemes (part, scheme, rows_rekeyed)
          SELECT 'privacy_requests', 2, 0
          WHERE NOT EXISTS (SELECT 1 FROM privacy_request_subjects);
      )sql"},
      {18, "consent_one_lookup_path", R"sql(
        -- The schema never depends on config (issue 20): the index of
        -- consent events by subject always exists (start-ups with the
        -- in-memory state index on used to drop it, and it was rebuilt when
        -- the index switched off). It is the one path to a subject's events
        -- (lib/consent/consent_rows.h): history, retries, withdrawals,
        -- erasure, and Check when the state index does not answer. The
        -- prev_seq chains of migration 14 are no longer written or read.
        CREATE INDEX IF NOT EXISTS consent_events_by_subject
          ON consent_events (tenant_id, subject_key, seq);
        -- One idempotency mechanism for consent: each event carries the
        -- request that wrote it (migration 11). Answers stored before that
        -- in idempotency_keys move into their events (a record's into its
        -- given event, a withdrawal's into its receipt's withdrawal event;
        -- a no-op withdrawal wrote no event, and its retry is evaluated
        -- again, answering the same receipt while it stays withdrawn).
        UPDATE consent_events
           SET request_id = k.request_id, request_fingerprint = k.fingerprint
          FROM idempotency_keys k
         WHERE consent_events.request_id IS NULL
           AND k.tenant_id = consent_events.tenant_id
           AND CAST(k.response AS TEXT) = consent_events.receipt_id
           AND ((k.method = '/dsar.v1.ConsentService/RecordConsent'
                 AND consent_events.action = 1)
             OR (k.method = '/dsar.v1.ConsentService/WithdrawConsent'
                 AND consent_events.action = 2));
        DELETE FROM idempotency_keys
         WHERE method IN ('/dsar.v1.ConsentService/RecordConsent',
                          '/dsar.v1.ConsentService/WithdrawConsent');
      )sql"},
      {19, "deadline_sla_group", R"sql(
        -- How the SLA report breaks a deadline kind down, given by whoever
        -- schedules the deadline (deadline::ScheduleRequest::sla_group;
        -- privacy requests give their type). The report read it from
        -- privacy_requests by joining on the resource name; with it here no
        -- module reads another's tables (issue 20). Deadlines already stored
        -- take their request's type once, here.
        ALTER TABLE deadlines ADD COLUMN sla_group TEXT NOT NULL DEFAULT '';
        UPDATE deadlines SET sla_group = coalesce((
            SELECT CASE p.type WHEN 1 THEN 'access' WHEN 2 THEN 'portability'
                               WHEN 3 THEN 'erasure' ELSE '' END
              FROM privacy_requests p
             WHERE p.tenant_id = deadlines.tenant_id
               AND p.request_id = substr(deadlines.resource, 18)), '')
         WHERE resource LIKE 'privacy_requests/%';
      )sql"},
      {20, "aip122_collection_ids", R"sql(
        -- Collection ids in camel case, as AIP-122 asks (issue 20):
        -- privacy_requests/{id} is privacyRequests/{id} and
        -- connector_tasks/{id} is connectorTasks/{id}. The rows that route
        -- and show work follow. Audit events keep the names they were
        -- written with (they are hash-chained), as do answers kept for
        -- retries in idempotency_keys and legacy alert bodies.
        UPDATE outbox_tasks
           SET resource = 'privacyRequests/' || substr(resource, 18)
         WHERE substr(resource, 1, 17) = 'privacy_requests/';
        UPDATE deadlines
           SET resource = 'privacyRequests/' || substr(resource, 18)
         WHERE substr(resource, 1, 17) = 'privacy_requests/';
        UPDATE deadlines
           SET resource = 'connectorTasks/' || substr(resource, 17)
         WHERE substr(resource, 1, 16) = 'connector_tasks/';
      )sql"},
      {21, "audit_coalesced_refusals", R"sql(
        -- Refused calls are counted in memory and written as one row per
        -- (peer, principal, tenant, code, reason) and window (issue 24,
        -- lib/audit/refusal_recorder.h): the caller's address (IP, no port),
        -- how many calls the row stands for, and the ErrorInfo reason.
        -- Rows before this keep '', 1 and '' and hash as they did.
        ALTER TABLE audit_events ADD COLUMN peer TEXT NOT NULL DEFAULT '';
        ALTER TABLE audit_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE audit_events ADD COLUMN reason TEXT NOT NULL DEFAULT '';
      )sql"},
      {22, "one_delivery_table", R"sql(
        -- One table for the retry bookkeeping of alerts to sinks and status
        -- callbacks (issue 20: one durable-delivery component; SQL in
        -- lib/delivery/delivery_rows.cc). A channel is "callbacks" or
        -- "alerts/<sink>"; an item is the delivered thing's seq in its own
        -- table, which keeps the content (privacy_request_callbacks keeps
        -- url and body; deadline_alerts the alert).
        CREATE TABLE deliveries (
          channel         TEXT NOT NULL,
          item            INTEGER NOT NULL,
          tenant_id       TEXT NOT NULL,
          state           TEXT NOT NULL,  -- pending | delivered | failed
          attempts        INTEGER NOT NULL DEFAULT 0,
          next_attempt_us INTEGER NOT NULL,
          last_error      TEXT NOT NULL DEFAULT '',
          delivered_at_us INTEGER,
          PRIMARY KEY (channel, item)
        ) WITHOUT ROWID;
        CREATE INDEX deliveries_due
          ON deliveries (channel, next_attempt_us, item) WHERE state = 'pending';
        INSERT INTO deliveries (channel, item, tenant_id, state, attempts, next_attempt_us,
                                last_error, delivered_at_us)
          SELECT 'alerts/' || sink, alert_seq, tenant_id, state, attempts, next_attempt_us,
                 last_error, delivered_at_us
            FROM deadline_alert_deliveries;
        INSERT INTO deliveries (channel, item, tenant_id, state, attempts, next_attempt_us,
                                last_error, delivered_at_us)
          SELECT 'callbacks', seq, tenant_id, state, attempts, next_attempt_us, last_error,
                 delivered_at_us
            FROM privacy_request_callbacks;
        DROP VIEW deadline_alert_delivery_counts;
        DROP TABLE deadline_alert_deliveries;
        DROP INDEX privacy_request_callbacks_pending;
        ALTER TABLE privacy_request_callbacks DROP COLUMN state;
        ALTER TABLE privacy_request_callbacks DROP COLUMN attempts;
        ALTER TABLE privacy_request_callbacks DROP COLUMN next_attempt_us;
        ALTER TABLE privacy_request_callbacks DROP COLUMN last_error;
        ALTER TABLE privacy_request_callbacks DROP COLUMN delivered_at_us;
        -- As in migration 10, over the one table: an alert in (from_seq,
        -- delivered_seq] was handed to the sink, delivered unless it has a
        -- row (a retry pending, or failed for good); later alerts are pending.
        CREATE VIEW deadline_alert_delivery_counts (sink, state, n) AS
          SELECT sink, state, SUM(n) FROM (
            SELECT substr(channel, 8) AS sink, state, COUNT(*) AS n FROM deliveries
              WHERE channel >= 'alerts/' AND channel < 'alerts0'
              GROUP BY channel, state
            UNION ALL
            SELECT s.sink, 'pending',
                   (SELECT COUNT(*) FROM deadline_alerts a WHERE a.seq > s.delivered_seq)
              FROM deadline_alert_sinks s
            UNION ALL
            SELECT s.sink, 'delivered',
                   (SELECT COUNT(*) FROM deadline_alerts a
                      WHERE a.seq > s.from_seq AND a.seq <= s.delivered_seq)
                   - (SELECT COUNT(*) FROM deliveries d
                        WHERE d.channel = 'alerts/' || s.sink AND d.item > s.from_seq
                          AND d.item <= s.delivered_seq)
              FROM deadline_alert_sinks s)
          GROUP BY sink, state;
      )sql"},
  };
  return *migrations;
}

}  // namespace dsar::store
