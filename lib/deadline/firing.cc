#include "lib/deadline/firing.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "lib/core/ids.h"
#include "lib/deadline/alerts.h"
#include "lib/deadline/deadline_rows.h"

namespace dsar::deadline {

using internal::DurUs;
using internal::Us;

namespace {

// Rows per multi-row statement (11 columns x 64 = 704 parameters, far below
// SQLite's limit). Shorter tails use the next lower power of two, so at most
// seven statements per shape are ever prepared and cached.
constexpr size_t kMaxChunk = 64;

size_t ChunkSize(size_t left) {
  size_t n = kMaxChunk;
  while (n > left) n /= 2;
  return n;
}

// "<head>(?,...,?),(?,...,?)...<tail>" with `rows` tuples of `cols` parameters.
std::string MultiRowSql(absl::string_view head, int cols, size_t rows, absl::string_view tail) {
  std::string tuple = "(";
  for (int c = 0; c < cols; ++c) tuple.append(c == 0 ? "?" : ",?");
  tuple.push_back(')');
  std::string sql(head);
  for (size_t r = 0; r < rows; ++r) {
    if (r > 0) sql.push_back(',');
    sql.append(tuple);
  }
  sql.append(tail.data(), tail.size());
  return sql;
}

// One deadline as read for firing.
struct DueRow {
  int64_t fire_us;
  std::string tenant;
  std::string deadline_id;
  std::string kind;
  std::string resource;
  int64_t due_us;
  int due_version;
  int64_t offset_us;
};

// One level to fire.
struct Level {
  int64_t fire_us;
  const DueRow* row;
  int64_t offset_us;
  bool operator<(const Level& o) const {
    return std::tie(fire_us, row->tenant, row->deadline_id) <
           std::tie(o.fire_us, o.row->tenant, o.row->deadline_id);
  }
};

std::vector<DueRow> ReadDue(store::WriteTxn& txn, int64_t now_us, int limit) {
  SQLite::Statement& select = txn.Prepare(
      "SELECT next_fire_at_us, tenant_id, deadline_id, kind, resource, due_at_us, due_version, "
      "next_offset_us FROM deadlines INDEXED BY deadlines_next_fire "
      "WHERE next_fire_at_us IS NOT NULL AND next_fire_at_us <= ?1 AND state = 'open' "
      "AND next_offset_us IS NOT NULL "
      "ORDER BY next_fire_at_us, tenant_id, deadline_id LIMIT ?2");
  select.bind(1, now_us);
  select.bind(2, limit);
  std::vector<DueRow> rows;
  rows.reserve(static_cast<size_t>(std::min(limit, 4096)));
  while (select.executeStep()) {
    rows.push_back(DueRow{select.getColumn(0).getInt64(), select.getColumn(1).getString(),
                          select.getColumn(2).getString(), select.getColumn(3).getString(),
                          select.getColumn(4).getString(), select.getColumn(5).getInt64(),
                          select.getColumn(6).getInt(), select.getColumn(7).getInt64()});
  }
  select.reset();
  return rows;
}

void InsertAlerts(store::WriteTxn& txn, const std::vector<Level>& levels, absl::Time now) {
  const std::vector<std::string> ids = NewTimeOrderedIds("alrt", now, levels.size());
  for (size_t first = 0; first < levels.size();) {
    const size_t n = ChunkSize(levels.size() - first);
    SQLite::Statement& insert = txn.Prepare(MultiRowSql(
        "INSERT INTO deadline_alerts (tenant_id, alert_id, deadline_id, kind, resource, "
        "due_version, offset_us, due_at_us, fire_at_us, fired_at_us, payload) VALUES ",
        11, n, ""));
    int p = 1;
    for (size_t i = first; i < first + n; ++i) {
      const Level& l = levels[i];
      const DueRow& r = *l.row;
      // SQLITE_STATIC: the strings outlive exec() below.
      insert.bindNoCopy(p++, r.tenant);
      insert.bindNoCopy(p++, ids[i]);
      insert.bindNoCopy(p++, r.deadline_id);
      insert.bindNoCopy(p++, r.kind);
      insert.bindNoCopy(p++, r.resource);
      insert.bind(p++, r.due_version);
      insert.bind(p++, l.offset_us);
      insert.bind(p++, r.due_us);
      insert.bind(p++, l.fire_us);
      insert.bind(p++, Us(now));
      // The body is not stored: AlertPayload() of the row, built when read.
      insert.bind(p++, "");
    }
    insert.exec();
    first += n;
  }
}

// Advances each deadline: levels_fired += fired, next level (or none).
struct Advance {
  const DueRow* row;
  int fired;
  std::optional<int64_t> next_offset_us;
  std::optional<int64_t> next_fire_us;
};

void AdvanceDeadlines(store::WriteTxn& txn, const std::vector<Advance>& advances,
                      absl::Time now) {
  for (size_t first = 0; first < advances.size();) {
    const size_t n = ChunkSize(advances.size() - first);
    // v.column1..5: tenant, deadline id, levels fired now, next offset, next fire time.
    SQLite::Statement& update = txn.Prepare(MultiRowSql(
        "UPDATE deadlines SET levels_fired = levels_fired + v.column3, "
        "next_offset_us = v.column4, next_fire_at_us = v.column5, updated_at_us = ?1 "
        "FROM (VALUES ",
        5, n,
        ") AS v WHERE deadlines.tenant_id = v.column1 AND deadlines.deadline_id = v.column2"));
    update.bind(1, Us(now));
    int p = 2;
    for (size_t i = first; i < first + n; ++i) {
      const Advance& a = advances[i];
      update.bind(p++, a.row->tenant);
      update.bind(p++, a.row->deadline_id);
      update.bind(p++, a.fired);
      if (a.next_offset_us.has_value()) {
        update.bind(p++, *a.next_offset_us);
        update.bind(p++, *a.next_fire_us);
      } else {
        update.bind(p++);
        update.bind(p++);
      }
    }
    update.exec();
    first += n;
  }
}

}  // namespace

FireDueResult FireDue(store::WriteTxn& txn, const AlertLevels& levels, absl::Time now,
                      int max_deadlines, const std::vector<std::string>& sinks) {
  FireDueResult result;
  const int64_t now_us = Us(now);
  const std::vector<DueRow> rows = ReadDue(txn, now_us, max_deadlines);
  if (rows.empty()) return result;
  result.more = static_cast<int>(rows.size()) == max_deadlines;
  // Later levels of these deadlines fire here only up to the last deadline
  // read when more are waiting, so the next call's alerts are not older.
  const DueRow& last = rows.back();
  auto due_here = [&](int64_t fire_us, const DueRow& r) {
    if (fire_us > now_us) return false;
    if (!result.more) return true;
    return std::tie(fire_us, r.tenant, r.deadline_id) <=
           std::tie(last.fire_us, last.tenant, last.deadline_id);
  };

  std::vector<Level> fire;
  fire.reserve(rows.size());
  std::vector<Advance> advances;
  advances.reserve(rows.size());
  for (const DueRow& r : rows) {
    Advance adv{&r, 0, r.offset_us, r.fire_us};
    // The first level is due (it was read as due); later ones while due by limit.
    while (adv.next_offset_us.has_value() && (adv.fired == 0 || due_here(*adv.next_fire_us, r))) {
      fire.push_back(Level{*adv.next_fire_us, &r, *adv.next_offset_us});
      ++adv.fired;
      std::optional<absl::Duration> next =
          NextLevelAfter(levels, absl::Microseconds(*adv.next_offset_us));
      if (next.has_value()) {
        adv.next_offset_us = DurUs(*next);
        adv.next_fire_us = r.due_us + *adv.next_offset_us;
      } else {
        adv.next_offset_us.reset();
        adv.next_fire_us.reset();
      }
    }
    advances.push_back(adv);
    result.deadlines.push_back(FiredDeadline{r.fire_us, r.tenant, r.deadline_id, adv.next_fire_us});
  }
  // Rows come in fire-time order; catch-up levels interleave with them.
  if (fire.size() > rows.size()) std::stable_sort(fire.begin(), fire.end());

  SQLite::Statement& max_seq = txn.Prepare("SELECT COALESCE(MAX(seq), 0) FROM deadline_alerts");
  max_seq.executeStep();
  const int64_t seq_before = max_seq.getColumn(0).getInt64();
  max_seq.reset();
  InsertAlerts(txn, fire, now);
  result.fired = static_cast<int>(fire.size());
  result.last_seq = txn.db().getLastInsertRowid();
  for (const std::string& sink : sinks) {
    SQLite::Statement& deliveries = txn.Prepare(
        "INSERT INTO deadline_alert_deliveries (alert_seq, sink, tenant_id, state, "
        "next_attempt_us) SELECT seq, ?1, tenant_id, 'pending', ?2 FROM deadline_alerts "
        "WHERE seq > ?3 ORDER BY seq");
    deliveries.bind(1, sink);
    deliveries.bind(2, now_us);
    deliveries.bind(3, seq_before);
    deliveries.exec();
  }
  AdvanceDeadlines(txn, advances, now);
  return result;
}

}  // namespace dsar::deadline
