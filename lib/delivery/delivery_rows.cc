#include "lib/delivery/delivery_rows.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>

#include "absl/strings/str_cat.h"
#include "lib/store/multi_row.h"

namespace dsar::delivery::delivery_rows {
namespace {

int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

// Binds an outcome's state, attempts, next attempt (or delivery time), error
// and delivery time (NULL unless delivered) from parameter `first` on.
void BindOutcome(SQLite::Statement& q, int first, const AttemptOutcome& o) {
  q.bind(first, DeliveryStateName(o.state));
  q.bind(first + 1, o.attempts);
  q.bind(first + 2, Us(o.at));
  q.bind(first + 3, o.error);
  if (o.state == DeliveryState::kDelivered) {
    q.bind(first + 4, Us(o.at));
  } else {
    q.bind(first + 4);
  }
}

}  // namespace

std::string AlertsChannel(absl::string_view sink) { return absl::StrCat("alerts/", sink); }

void InsertPending(store::WriteTxn& txn, absl::string_view channel, int64_t item,
                   absl::string_view tenant, absl::Time due) {
  SQLite::Statement& q = txn.Prepare(
      "INSERT INTO deliveries (channel, item, tenant_id, state, attempts, next_attempt_us) "
      "VALUES (?, ?, ?, 'pending', 0, ?)");
  q.bind(1, std::string(channel));
  q.bind(2, item);
  q.bind(3, std::string(tenant));
  q.bind(4, Us(due));
  q.exec();
}

void InsertOutcome(store::WriteTxn& txn, absl::string_view channel, int64_t item,
                   absl::string_view tenant, const AttemptOutcome& o) {
  SQLite::Statement& q = txn.Prepare(
      "INSERT INTO deliveries (channel, item, tenant_id, state, attempts, next_attempt_us, "
      "last_error, delivered_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, std::string(channel));
  q.bind(2, item);
  q.bind(3, std::string(tenant));
  BindOutcome(q, 4, o);
  q.exec();
}

void RecordOutcome(store::WriteTxn& txn, absl::string_view channel, int64_t item,
                   const AttemptOutcome& o) {
  SQLite::Statement& q = txn.Prepare(
      "UPDATE deliveries SET state = ?, attempts = ?, next_attempt_us = ?, last_error = ?, "
      "delivered_at_us = ? WHERE channel = ? AND item = ? AND state = 'pending'");
  BindOutcome(q, 1, o);
  q.bind(6, std::string(channel));
  q.bind(7, item);
  q.exec();
}

void Postpone(store::WriteTxn& txn, absl::string_view channel, int64_t item, absl::Time until) {
  SQLite::Statement& q = txn.Prepare(
      "UPDATE deliveries SET next_attempt_us = ? WHERE channel = ? AND item = ? "
      "AND state = 'pending'");
  q.bind(1, Us(until));
  q.bind(2, std::string(channel));
  q.bind(3, item);
  q.exec();
}

void MarkDelivered(store::WriteTxn& txn, absl::string_view channel,
                   const std::vector<Delivered>& delivered) {
  const std::string channel_text(channel);
  // v.column1..4: item, attempts, delivery time, channel.
  store::ExecMultiRow(
      txn,
      "UPDATE deliveries SET state = 'delivered', attempts = v.column2, "
      "next_attempt_us = v.column3, last_error = '', delivered_at_us = v.column3 FROM (VALUES ",
      4, ") AS v WHERE channel = v.column4 AND item = v.column1 AND state = 'pending'",
      delivered.size(), [&](SQLite::Statement& q, int& param, size_t row) {
        q.bind(param++, delivered[row].item);
        q.bind(param++, delivered[row].attempts);
        q.bind(param++, Us(delivered[row].at));
        q.bind(param++, channel_text);
      });
}

std::vector<DueItem> Due(store::ReadTxn& txn, absl::string_view channel, absl::Time now,
                         int limit) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT item, attempts, next_attempt_us FROM deliveries "
      "WHERE channel = ? AND state = 'pending' AND next_attempt_us <= ? "
      "ORDER BY next_attempt_us, item LIMIT ?");
  q.bind(1, std::string(channel));
  q.bind(2, Us(now));
  q.bind(3, limit);
  std::vector<DueItem> due;
  while (q.executeStep()) {
    due.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getInt(),
                   absl::FromUnixMicros(q.getColumn(2).getInt64())});
  }
  q.reset();
  return due;
}

std::optional<absl::Time> EarliestDue(store::ReadTxn& txn, absl::string_view channel,
                                      absl::Time after) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT MIN(next_attempt_us) FROM deliveries WHERE channel = ? AND state = 'pending' "
      "AND next_attempt_us > ?");
  q.bind(1, std::string(channel));
  q.bind(2, Us(after));
  std::optional<absl::Time> earliest;
  if (q.executeStep() && !q.getColumn(0).isNull()) {
    earliest = absl::FromUnixMicros(q.getColumn(0).getInt64());
  }
  q.reset();
  return earliest;
}

std::vector<StateCount> CountByState(store::ReadTxn& txn) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT channel, state, COUNT(*) FROM deliveries GROUP BY channel, state "
      "ORDER BY channel, state");
  std::vector<StateCount> counts;
  while (q.executeStep()) {
    counts.push_back(
        {q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64()});
  }
  q.reset();
  return counts;
}

}  // namespace dsar::delivery::delivery_rows
