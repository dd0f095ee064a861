-- The loyalty database of deploy/connectors/loyalty.sql for SQLite (the same
-- shape, names and synthetic people), so one test scenario and the shipped
-- dataset map run on both engines. @PEOPLE@ is replaced by the test.
PRAGMA foreign_keys = ON;
BEGIN;
CREATE TABLE members (
  id                   INTEGER PRIMARY KEY,
  customer_no          TEXT NOT NULL UNIQUE,
  email                TEXT NOT NULL UNIQUE,
  phone                TEXT,
  full_name            TEXT,
  birth_date           DATE,
  region               TEXT NOT NULL,
  tier                 TEXT NOT NULL,
  joined_at            TIMESTAMP NOT NULL,
  ended_at             TIMESTAMP,
  legal_hold           BOOLEAN NOT NULL DEFAULT FALSE,
  marketing_opt_in     BOOLEAN NOT NULL DEFAULT FALSE,
  marketing_changed_us BIGINT
);
CREATE INDEX members_by_phone ON members (phone);
CREATE TABLE point_transactions (
  id         INTEGER PRIMARY KEY,
  member_id  BIGINT REFERENCES members (id),
  region     TEXT NOT NULL,
  points     INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  note       TEXT,
  created_at TIMESTAMP NOT NULL
);
CREATE INDEX point_transactions_by_member ON point_transactions (member_id);
CREATE TABLE point_purchases (
  id         INTEGER PRIMARY KEY,
  member_id  BIGINT NOT NULL REFERENCES members (id),
  invoice_no TEXT NOT NULL,
  amount_sek INTEGER NOT NULL,
  created_at TIMESTAMP NOT NULL
);
CREATE INDEX point_purchases_by_member ON point_purchases (member_id);
CREATE TABLE reward_redemptions (
  id               INTEGER PRIMARY KEY,
  member_id        BIGINT NOT NULL REFERENCES members (id),
  reward           TEXT NOT NULL,
  points           INTEGER NOT NULL,
  delivery_address TEXT,
  created_at       TIMESTAMP NOT NULL
);
CREATE INDEX reward_redemptions_by_member ON reward_redemptions (member_id);

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @PEOPLE@)
INSERT INTO members
SELECT i,
       'cust-' || printf('%04d', i),
       'person-' || printf('%04d', i) || '@example.invalid',
       '+467' || printf('%08d', i),
       'Person ' || printf('%04d', i),
       date('1960-01-01', '+' || ((i * 37) % 15000) || ' days'),
       CASE i % 5 WHEN 0 THEN 'north' WHEN 1 THEN 'south' WHEN 2 THEN 'east' WHEN 3 THEN 'west'
                  ELSE 'central' END,
       CASE i % 3 WHEN 0 THEN 'blue' WHEN 1 THEN 'silver' ELSE 'gold' END,
       datetime('2024-01-01 00:00:00', '+' || ((i * 11) % 365) || ' days'),
       CASE WHEN i % 5 = 0
            THEN datetime('2024-01-01 00:00:00', ((i * 13) % 1100 - 400) || ' days') END,
       i % 50 = 0,
       i % 2 = 0,
       NULL
FROM n;

WITH k(k) AS (VALUES (1), (2), (3))
INSERT INTO point_transactions
SELECT (m.id - 1) * 3 + k.k, m.id, m.region, ((m.id * 7 + k.k * 13) % 500) + 1,
       CASE k.k WHEN 1 THEN 'stay' WHEN 2 THEN 'purchase' ELSE 'bonus' END,
       CASE WHEN k.k = 3 THEN 'Bonus for ' || m.full_name END,
       datetime(m.joined_at, '+' || (k.k * 10) || ' days')
FROM members m, k;

INSERT INTO point_purchases
SELECT m.id, m.id, 'INV-' || printf('%08d', m.id), 100 + (m.id % 9) * 50,
       datetime(m.joined_at, '+3 days')
FROM members m WHERE m.id % 4 = 0;

INSERT INTO reward_redemptions
SELECT m.id, m.id, CASE m.id % 3 WHEN 0 THEN 'Free night' WHEN 1 THEN 'Lounge pass'
                                 ELSE 'Upgrade' END, 200,
       m.id || ' Synthetic Street, Exampletown', datetime(m.joined_at, '+30 days')
FROM members m WHERE m.id % 3 = 0;
COMMIT;
