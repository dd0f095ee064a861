-- The demo's loyalty-programme database (PostgreSQL): members, point
-- transactions, point purchases and reward redemptions of synthetic people
-- who are also the booking and CRM refbackends' people (same e-mail, customer
-- number and phone: "person-0001@example.invalid", "cust-0001",
-- "+46700000001"). Deterministic; run once on an empty database:
--   psql -v people=1000 -f deploy/connectors/loyalty.sql loyalty
-- deploy/connectors/loyalty.textproto maps it for dsar-sql-connector.
\set ON_ERROR_STOP on
\if :{?people}
\else
\set people 1000
\endif

BEGIN;

CREATE TABLE members (
  id                   BIGINT PRIMARY KEY,
  customer_no          TEXT NOT NULL UNIQUE,
  email                TEXT NOT NULL UNIQUE,
  phone                TEXT,
  full_name            TEXT,
  birth_date           DATE,
  region               TEXT NOT NULL,
  tier                 TEXT NOT NULL,
  joined_at            TIMESTAMPTZ NOT NULL,
  ended_at             TIMESTAMPTZ,
  legal_hold           BOOLEAN NOT NULL DEFAULT FALSE,
  marketing_opt_in     BOOLEAN NOT NULL DEFAULT FALSE,
  marketing_changed_us BIGINT
);
CREATE INDEX members_by_phone ON members (phone);

CREATE TABLE point_transactions (
  id         BIGINT PRIMARY KEY,
  member_id  BIGINT REFERENCES members (id),
  region     TEXT NOT NULL,
  points     INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  note       TEXT,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX point_transactions_by_member ON point_transactions (member_id);

CREATE TABLE point_purchases (
  id         BIGINT PRIMARY KEY,
  member_id  BIGINT NOT NULL REFERENCES members (id),
  invoice_no TEXT NOT NULL,
  amount_sek INTEGER NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX point_purchases_by_member ON point_purchases (member_id);

CREATE TABLE reward_redemptions (
  id               BIGINT PRIMARY KEY,
  member_id        BIGINT NOT NULL REFERENCES members (id),
  reward           TEXT NOT NULL,
  points           INTEGER NOT NULL,
  delivery_address TEXT,
  created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX reward_redemptions_by_member ON reward_redemptions (member_id);

-- Person i: the refbackends' identifiers (zero-padded to four digits), a
-- region, every fifth relationship ended (some over a year ago), every 50th
-- person under legal hold.
INSERT INTO members
SELECT i,
       'cust-' || lpad(i::text, greatest(4, length(i::text)), '0'),
       'person-' || lpad(i::text, greatest(4, length(i::text)), '0') || '@example.invalid',
       '+467' || lpad(i::text, 8, '0'),
       'Person ' || lpad(i::text, greatest(4, length(i::text)), '0'),
       DATE '1960-01-01' + (i * 37) % 15000,
       (ARRAY['north', 'south', 'east', 'west', 'central'])[1 + i % 5],
       (ARRAY['blue', 'silver', 'gold'])[1 + i % 3],
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + ((i * 11) % 365) * INTERVAL '1 day',
       CASE WHEN i % 5 = 0
            THEN TIMESTAMPTZ '2024-01-01 00:00:00+00' + ((i * 13) % 1100 - 400) * INTERVAL '1 day'
       END,
       i % 50 = 0,
       i % 2 = 0,
       NULL
FROM generate_series(1, :people) AS i;

-- Three point transactions per member, in the member's region.
INSERT INTO point_transactions
SELECT (m.id - 1) * 3 + k, m.id, m.region, ((m.id * 7 + k * 13) % 500) + 1,
       (ARRAY['stay', 'purchase', 'bonus'])[k],
       CASE WHEN k = 3 THEN 'Bonus for ' || m.full_name END,
       m.joined_at + k * INTERVAL '10 days'
FROM members m, generate_series(1, 3) AS k;

-- A point purchase (an invoice: bookkeeping) for every fourth member.
INSERT INTO point_purchases
SELECT m.id, m.id, 'INV-' || lpad(m.id::text, 8, '0'), 100 + (m.id % 9) * 50,
       m.joined_at + INTERVAL '3 days'
FROM members m WHERE m.id % 4 = 0;

-- A reward redemption, delivered to an address, for every third member.
INSERT INTO reward_redemptions
SELECT m.id, m.id, (ARRAY['Free night', 'Lounge pass', 'Upgrade'])[1 + m.id % 3], 200,
       m.id || ' Synthetic Street, Exampletown', m.joined_at + INTERVAL '30 days'
FROM members m WHERE m.id % 3 = 0;

COMMIT;
ANALYZE;
