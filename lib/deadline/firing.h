// Firing: fires the due alert levels of many deadlines in one write
// transaction, set-based.
//
// FireDue reads up to `max_deadlines` deadlines whose next level is due, in
// (fire time, tenant, deadline id) order straight from the deadlines_next_fire
// index, works out every level of each that is due (several after downtime),
// and writes them with a handful of statements: multi-row INSERTs of the
// alerts in fire-time order, one INSERT ... SELECT of pending deliveries per
// sink, and multi-row UPDATEs that advance each deadline to its following
// level. All of it happens in the caller's transaction, so a crash leaves a
// level either fired (alert row + deliveries + advanced deadline) or not at
// all; the unique (tenant, deadline, due version, offset) key of the alerts
// makes a second firing of one level fail the transaction instead of doubling
// it. The cost per alert is a few B-tree inserts and one row update; no
// statement is prepared or run per deadline. Not thread-safe (a transaction
// belongs to one call).
#ifndef DSAR_LIB_DEADLINE_FIRING_H_
#define DSAR_LIB_DEADLINE_FIRING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "lib/deadline/levels.h"
#include "lib/store/txn.h"

namespace dsar::deadline {

// One deadline FireDue read, by the key its next level had in the index.
struct FiredDeadline {
  int64_t fire_us;  // next_fire_at_us when read: the first level fired
  std::string tenant;
  std::string deadline_id;
  // The deadline's next level after this batch (unset: none left).
  std::optional<int64_t> next_fire_us;
};

struct FireDueResult {
  int fired = 0;                       // alerts written
  int64_t last_seq = 0;                // seq of the last alert written (0: none)
  // The read stopped at max_deadlines: more levels may be due.
  bool more = false;
  std::vector<FiredDeadline> deadlines;  // in index order
};

// Inside the caller's write transaction: fires every level due at `now` of
// the first `max_deadlines` due deadlines (open, not paused), oldest first.
// When the read is full, levels that come due through these deadlines later
// than the last deadline read are left for the next call, so alerts are
// written in fire-time order across calls too. Each alert gets `now` as its
// fired time and one pending delivery per name in `sinks`. SQLite errors
// propagate as exceptions (the Store turns them into a status).
FireDueResult FireDue(store::WriteTxn& txn, const AlertLevels& levels, absl::Time now,
                      int max_deadlines, const std::vector<std::string>& sinks);

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_FIRING_H_
