#include "lib/deadline/firing.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "lib/deadline/alerts.h"
#include "lib/deadline/deadline_rows.h"
#include "lib/store/multi_row.h"

namespace dsar::deadline {

using internal::DurUs;
using internal::Us;

namespace {

// One deadline as read for firing.
struct DueRow {
  int64_t fire_us;
  std::string tenant;
  std::string deadline_id;
  int64_t due_us;
  int due_version;
  int64_t offset_us;
  std::optional<int64_t> fired_through_us;  // last level fired for due_version
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

std::vector<DueRow> ReadDue(store::WriteTxn& txn, int64_t now_us, int limit,
                            const std::optional<DueKey>& after) {
  // The last level fired for the current due version: a seek to the end of
  // its range of the alerts' unique key.
  static constexpr char kHead[] =
      "SELECT d.next_fire_at_us, d.tenant_id, d.deadline_id, d.due_at_us, d.due_version, "
      "d.next_offset_us, (SELECT a.offset_us FROM deadline_alerts a WHERE a.tenant_id = "
      "d.tenant_id AND a.deadline_id = d.deadline_id AND a.due_version = d.due_version "
      "ORDER BY a.offset_us DESC LIMIT 1) "
      "FROM deadlines d INDEXED BY deadlines_next_fire "
      "WHERE d.next_fire_at_us IS NOT NULL AND d.next_fire_at_us <= ?1 AND d.state = 'open' "
      "AND d.next_offset_us IS NOT NULL ";
  static constexpr char kTail[] = "ORDER BY d.next_fire_at_us, d.tenant_id, d.deadline_id LIMIT ?2";
  SQLite::Statement& select =
      after.has_value()
          ? txn.Prepare(absl::StrCat(
                kHead, "AND (d.next_fire_at_us, d.tenant_id, d.deadline_id) > (?3, ?4, ?5) ",
                kTail))
          : txn.Prepare(absl::StrCat(kHead, kTail));
  select.bind(1, now_us);
  select.bind(2, limit);
  if (after.has_value()) {
    select.bind(3, after->fire_us);
    select.bind(4, after->tenant);
    select.bind(5, after->deadline_id);
  }
  std::vector<DueRow> rows;
  rows.reserve(static_cast<size_t>(std::min(limit, 4096)));
  while (select.executeStep()) {
    DueRow r{select.getColumn(0).getInt64(),
             select.getColumn(1).getString(),
             select.getColumn(2).getString(),
             select.getColumn(3).getInt64(),
             select.getColumn(4).getInt(),
             select.getColumn(5).getInt64(),
             std::nullopt};
    if (!select.getColumn(6).isNull()) r.fired_through_us = select.getColumn(6).getInt64();
    rows.push_back(std::move(r));
  }
  select.reset();
  return rows;
}

// The alert rows: no id (derived from the unique key, AlertIdFor), no kind or
// resource (the deadline's), no body (AlertPayload, built when read).
void InsertAlerts(store::WriteTxn& txn, const std::vector<Level>& levels, absl::Time now) {
  store::ExecMultiRow(
      txn,
      "INSERT INTO deadline_alerts (tenant_id, deadline_id, due_version, offset_us, "
      "due_at_us, fire_at_us, fired_at_us) VALUES ",
      7, "", levels.size(), [&](SQLite::Statement& insert, int& p, size_t i) {
        const Level& l = levels[i];
        const DueRow& r = *l.row;
        // SQLITE_STATIC: the strings outlive the statement's execution.
        insert.bindNoCopy(p++, r.tenant);
        insert.bindNoCopy(p++, r.deadline_id);
        insert.bind(p++, r.due_version);
        insert.bind(p++, l.offset_us);
        insert.bind(p++, r.due_us);
        insert.bind(p++, l.fire_us);
        insert.bind(p++, Us(now));
      });
}

// SQL for the level after offset column `o` (NextLevelAfter), NULL when none
// is left: the configured levels are constants of the statement.
std::string NextOffsetSql(const AlertLevels& levels, absl::string_view o) {
  std::string sql = "CASE";
  std::optional<absl::Duration> next = NextLevelAfter(levels, -absl::InfiniteDuration());
  // Warnings and "due" ascending: the first one above `o`.
  while (next.has_value() && *next <= absl::ZeroDuration()) {
    absl::StrAppend(&sql, " WHEN ", o, " < ", DurUs(*next), " THEN ", DurUs(*next));
    next = NextLevelAfter(levels, *next);
  }
  const int64_t every = DurUs(levels.overdue_every);
  if (every > 0) {
    // o >= 0 here: SQLite's integer division truncates like Quotient.
    absl::StrAppend(&sql, " ELSE (", o, " / ", every, " + 1) * ", every, " END");
  } else {
    absl::StrAppend(&sql, " ELSE NULL END");
  }
  return sql;
}

// The fast path: one INSERT ... SELECT of the batch's stored levels. Returns
// false, with nothing written, when a row is not simple (a NULL fire time
// where its next level is due too; the unique key where its stored level
// already fired): SQLite rolls back the failing statement alone.
bool FireFast(store::WriteTxn& txn, const AlertLevels& levels, int64_t now_us, int limit,
              const std::optional<DueKey>& after) {
  const std::string sql = absl::StrCat(
      "INSERT INTO deadline_alerts (tenant_id, deadline_id, due_version, offset_us, due_at_us, "
      "fire_at_us, fired_at_us) "
      "SELECT d.tenant_id, d.deadline_id, d.due_version, d.next_offset_us, d.due_at_us, "
      "CASE WHEN COALESCE(d.due_at_us + (",
      NextOffsetSql(levels, "d.next_offset_us"),
      ") > ?1, 1) THEN d.next_fire_at_us END, ?1 "
      "FROM deadlines d INDEXED BY deadlines_next_fire "
      "WHERE d.next_fire_at_us IS NOT NULL AND d.next_fire_at_us <= ?1 AND d.state = 'open' "
      "AND d.next_offset_us IS NOT NULL ",
      after.has_value() ? "AND (d.next_fire_at_us, d.tenant_id, d.deadline_id) > (?3, ?4, ?5) "
                        : "",
      "ORDER BY d.next_fire_at_us, d.tenant_id, d.deadline_id LIMIT ?2");
  SQLite::Statement& insert = txn.Prepare(sql);
  insert.bind(1, now_us);
  insert.bind(2, limit);
  if (after.has_value()) {
    insert.bind(3, after->fire_us);
    insert.bindNoCopy(4, after->tenant);
    insert.bindNoCopy(5, after->deadline_id);
  }
  const int rc = insert.tryExecuteStep();
  insert.tryReset();
  if (rc == SQLITE_DONE) return true;
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return false;
  throw SQLite::Exception(txn.db().getHandle(), rc);
}

}  // namespace

FireDueResult FireDue(store::WriteTxn& txn, const AlertLevels& levels, absl::Time now,
                      int max_deadlines, const std::vector<std::string>& sinks,
                      const std::optional<DueKey>& after, bool try_fast) {
  FireDueResult result;
  const int64_t now_us = Us(now);
  SQLite::Statement& max_seq = txn.Prepare("SELECT COALESCE(MAX(seq), 0) FROM deadline_alerts");
  max_seq.executeStep();
  const int64_t seq_before = max_seq.getColumn(0).getInt64();
  max_seq.reset();
  // Each sink takes every alert after its cursor; a sink's first alert sets
  // where its cursor starts (alerts fired before it was configured are not
  // its to deliver).
  auto start_cursors = [&] {
    for (const std::string& sink : sinks) {
      SQLite::Statement& cursor = txn.Prepare(
          "INSERT OR IGNORE INTO deadline_alert_sinks (sink, from_seq, delivered_seq, "
          "updated_at_us) VALUES (?1, ?2, ?2, ?3)");
      cursor.bind(1, sink);
      cursor.bind(2, seq_before);
      cursor.bind(3, now_us);
      cursor.exec();
    }
  };
  if (try_fast) {
    if (FireFast(txn, levels, now_us, max_deadlines, after)) {
      const int n = txn.db().getChanges();
      if (n == 0) return result;
      result.fast = true;
      result.fired = n;
      result.first_seq = seq_before + 1;
      result.last_seq = txn.db().getLastInsertRowid();
      result.more = n == max_deadlines;
      SQLite::Statement& last = txn.Prepare(
          "SELECT fire_at_us, tenant_id, deadline_id FROM deadline_alerts WHERE seq = ?1");
      last.bind(1, result.last_seq);
      if (!last.executeStep()) throw SQLite::Exception("fast firing: last alert not found");
      result.last = DueKey{last.getColumn(0).getInt64(), last.getColumn(1).getString(),
                           last.getColumn(2).getString()};
      last.reset();
      start_cursors();
      return result;
    }
    result.fell_back = true;
  }
  const std::vector<DueRow> rows = ReadDue(txn, now_us, max_deadlines, after);
  if (rows.empty()) return result;
  result.more = static_cast<int>(rows.size()) == max_deadlines;
  const DueRow& last = rows.back();
  result.last = DueKey{last.fire_us, last.tenant, last.deadline_id};
  // Levels later than the stored one fire here only up to the last deadline
  // read when more are waiting, so the next call's alerts are not older.
  auto due_here = [&](int64_t fire_us, const DueRow& r) {
    if (fire_us > now_us) return false;
    if (!result.more) return true;
    return std::tie(fire_us, r.tenant, r.deadline_id) <=
           std::tie(last.fire_us, last.tenant, last.deadline_id);
  };
  auto next_after = [&](const DueRow& r, int64_t offset_us, std::optional<int64_t>* next_offset,
                        std::optional<int64_t>* next_fire) {
    std::optional<absl::Duration> next = NextLevelAfter(levels, absl::Microseconds(offset_us));
    if (next.has_value()) {
      *next_offset = DurUs(*next);
      *next_fire = r.due_us + **next_offset;
    } else {
      next_offset->reset();
      next_fire->reset();
    }
  };

  std::vector<Level> fire;
  fire.reserve(rows.size());
  std::vector<PendingAdvance> advance_now;
  for (const DueRow& r : rows) {
    std::optional<int64_t> offset = r.offset_us;
    std::optional<int64_t> fire_us = r.fire_us;
    // The stored level is due as read, unless it (and maybe more) already
    // fired and the deadline was not advanced yet.
    bool checked = false;
    std::optional<int64_t> through = r.fired_through_us;
    if (through.has_value() && *offset <= *through) {
      next_after(r, *through, &offset, &fire_us);
      checked = true;
    }
    if (checked) result.simple = false;  // a level already fired
    int fired = 0;
    while (offset.has_value() && (!checked || due_here(*fire_us, r))) {
      fire.push_back(Level{*fire_us, &r, *offset});
      ++fired;
      through = *offset;
      next_after(r, *offset, &offset, &fire_us);
      checked = true;
    }
    if (fired != 1 || (offset.has_value() && *fire_us <= now_us)) result.simple = false;
    if (through.has_value() && (fired > 0 || r.fired_through_us.has_value())) {
      PendingAdvance a{r.tenant, r.deadline_id, r.due_version, *through, offset};
      // A level still due was left for order (catch-up after downtime): move
      // the deadline now, so the index returns it again at that level.
      (offset.has_value() && *fire_us <= now_us ? advance_now : result.advances)
          .push_back(std::move(a));
    }
    result.deadlines.push_back(FiredDeadline{r.fire_us, r.tenant, r.deadline_id, fire_us});
  }
  // Rows come in fire-time order; catch-up levels interleave with them.
  if (!std::is_sorted(fire.begin(), fire.end())) std::stable_sort(fire.begin(), fire.end());
  AdvanceFired(txn, advance_now, now);
  if (fire.empty()) return result;

  InsertAlerts(txn, fire, now);
  result.fired = static_cast<int>(fire.size());
  result.last_seq = txn.db().getLastInsertRowid();
  start_cursors();
  return result;
}

void CollectFastFired(store::ReadTxn& txn, const AlertLevels& levels, int64_t first_seq,
                      int64_t last_seq, std::vector<FiredDeadline>* deadlines,
                      std::vector<PendingAdvance>* advances) {
  SQLite::Statement& select = txn.Prepare(
      "SELECT fire_at_us, tenant_id, deadline_id, due_version, offset_us, due_at_us "
      "FROM deadline_alerts WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq");
  select.bind(1, first_seq);
  select.bind(2, last_seq);
  while (select.executeStep()) {
    const int64_t offset_us = select.getColumn(4).getInt64();
    const int64_t due_us = select.getColumn(5).getInt64();
    std::optional<int64_t> next_offset, next_fire;
    if (std::optional<absl::Duration> next =
            NextLevelAfter(levels, absl::Microseconds(offset_us))) {
      next_offset = DurUs(*next);
      next_fire = due_us + *next_offset;
    }
    FiredDeadline d{select.getColumn(0).getInt64(), select.getColumn(1).getString(),
                    select.getColumn(2).getString(), next_fire};
    advances->push_back(PendingAdvance{d.tenant, d.deadline_id, select.getColumn(3).getInt(),
                                       offset_us, next_offset});
    deadlines->push_back(std::move(d));
  }
  select.reset();
}

void AdvanceFired(store::WriteTxn& txn, const std::vector<PendingAdvance>& advances,
                  absl::Time now) {
  for (size_t first = 0; first < advances.size();) {
    const size_t n = store::ChunkRows(advances.size() - first);
    // v.column1..5: tenant, deadline id, due version, offset fired through,
    // next offset (NULL: no level left).
    SQLite::Statement& update = txn.Prepare(store::MultiRowSql(
        "UPDATE deadlines SET levels_fired = (SELECT COUNT(*) FROM deadline_alerts a "
        "WHERE a.tenant_id = deadlines.tenant_id AND a.deadline_id = deadlines.deadline_id), "
        "next_offset_us = v.column5, next_fire_at_us = CASE WHEN deadlines.paused_at_us IS NULL "
        "THEN deadlines.due_at_us + v.column5 END, updated_at_us = ?1 FROM (VALUES ",
        5, n,
        ") AS v WHERE deadlines.tenant_id = v.column1 AND deadlines.deadline_id = v.column2 "
        "AND deadlines.due_version = v.column3 AND deadlines.state = 'open' "
        "AND deadlines.next_offset_us IS NOT NULL AND deadlines.next_offset_us <= v.column4"));
    update.bind(1, Us(now));
    int p = 2;
    for (size_t i = first; i < first + n; ++i) {
      const PendingAdvance& a = advances[i];
      update.bind(p++, a.tenant);
      update.bind(p++, a.deadline_id);
      update.bind(p++, a.due_version);
      update.bind(p++, a.fired_through_us);
      if (a.next_offset_us.has_value()) {
        update.bind(p++, *a.next_offset_us);
      } else {
        update.bind(p++);
      }
    }
    update.exec();
    first += n;
  }
}

}  // namespace dsar::deadline
