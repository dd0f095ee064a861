// Firing: fires the due alert levels of many deadlines in one write
// transaction, set-based, and brings the deadlines' own bookkeeping up to date
// afterwards.
//
// The alerts table is the truth of what fired: a level fired when its alert
// row (unique per deadline, due version and offset) committed. FireDue reads
// up to `max_deadlines` deadlines whose stored next level is due, in
// (fire time, tenant, deadline id) order straight from the deadlines_next_fire
// index, together with the last level already fired for their current due
// version; works out every level of each that is due and not yet fired
// (several after downtime); and inserts those alerts, in fire-time order, with
// multi-row INSERTs (sinks take them by cursor: nothing per alert and sink).
// It does not touch the deadline rows: that is
// what makes a burst cheap to fire (a deadline row is wide and its update
// moves its deadlines_next_fire entry); only a deadline with a level still due
// that was left for a later call (catch-up after downtime, kept in fire-time
// order) is moved on at once. AdvanceFired, run in later
// transactions once nothing more is due, moves each fired deadline to its
// next level (levels_fired, next_offset_us, next_fire_at_us); until then the
// stored next level is behind what fired, and FireDue skips what already
// fired. A crash in between leaves alerts fired exactly once and deadlines
// that the next FireDue finds due, fires nothing twice for and hands back
// for advancing. A level fired twice would break the alerts' unique key and
// fail the batch. No statement is prepared or run per deadline. Not
// thread-safe (a transaction belongs to one call).
//
// Fast path (`try_fast`): when every deadline of the batch has exactly its
// stored level to fire (the usual case: not fired yet, its next level not due
// yet), the whole batch is one INSERT ... SELECT from the index, with no row
// crossing into C++. A row that is not that simple makes the statement fail
// as a whole, which SQLite rolls back alone, and the batch is fired the
// general way instead: a next level already due leaves a NULL fire time (NOT
// NULL constraint), a stored level that already fired (a crash or failure
// before its deadline was advanced) collides with the alerts' unique key. So
// the fast path fires exactly what the general path would, and the unique key
// stays what makes a level fire at most once. Its deadlines are not read back
// inside the transaction: CollectFastFired reads them from the alerts it wrote
// afterwards, for AdvanceFired and the scheduler's queue.
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

// A deadline's place in the deadlines_next_fire index.
struct DueKey {
  int64_t fire_us;  // next_fire_at_us
  std::string tenant;
  std::string deadline_id;
};

// One deadline FireDue read, by the key its next level had in the index.
struct FiredDeadline {
  int64_t fire_us;  // next_fire_at_us when read
  std::string tenant;
  std::string deadline_id;
  // The deadline's next level after this batch (unset: none left).
  std::optional<int64_t> next_fire_us;
};

// A deadline whose stored next level is behind what has fired: for
// AdvanceFired.
struct PendingAdvance {
  std::string tenant;
  std::string deadline_id;
  int due_version;
  int64_t fired_through_us;               // offset of the last level fired
  std::optional<int64_t> next_offset_us;  // the level after it (unset: none left)
};

struct FireDueResult {
  int fired = 0;         // alerts written
  int64_t last_seq = 0;  // seq of the last alert written (0: none)
  // Fired by the fast path: the alerts first_seq..last_seq, one per deadline;
  // `deadlines` and `advances` are left empty (CollectFastFired fills them).
  bool fast = false;
  int64_t first_seq = 0;
  // The fast path was tried and failed (the batch was fired the general way).
  bool fell_back = false;
  // Every deadline read had exactly its stored level to fire (the next batch
  // may try the fast path).
  bool simple = true;
  // The read stopped at max_deadlines: more levels may be due after `last`.
  bool more = false;
  std::optional<DueKey> last;            // the last deadline read
  std::vector<FiredDeadline> deadlines;  // in index order
  std::vector<PendingAdvance> advances;  // every deadline read that fired (or had fired)
};

// Inside the caller's write transaction: fires every level due at `now` and
// not fired yet of the first `max_deadlines` due deadlines (open, not paused)
// after `after` in index order (from the start when unset), oldest first.
// When the read is full, levels that come due through these deadlines later
// than the last deadline read are left for later, so alerts are written in
// fire-time order across calls too. Each alert gets `now` as its fired time
// and is pending for every sink in `sinks` (whose cursor row is created with
// the first alert fired for it). Deadline rows are left as
// they are: pass `advances` to AdvanceFired. SQLite errors propagate as
// exceptions (the Store turns them into a status).
// With `try_fast`, the fast path is tried first (see the file comment).
FireDueResult FireDue(store::WriteTxn& txn, const AlertLevels& levels, absl::Time now,
                      int max_deadlines, const std::vector<std::string>& sinks,
                      const std::optional<DueKey>& after = std::nullopt, bool try_fast = false);

// After a fast FireDue committed: appends, for its alerts first_seq..last_seq
// (in seq order), each deadline as FireDue's general path would have reported
// it (`deadlines`) and its advance (`advances`), read after the commit
// (alert rows are never rewritten). SQLite errors propagate as exceptions.
void CollectFastFired(store::ReadTxn& txn, const AlertLevels& levels, int64_t first_seq,
                      int64_t last_seq, std::vector<FiredDeadline>* deadlines,
                      std::vector<PendingAdvance>* advances);

// Inside the caller's write transaction: moves each deadline of `advances`
// past the levels fired (next level, its fire time unless paused, and
// levels_fired recounted from the alerts), set-based. A deadline changed in
// the meantime is only moved if its stored level is still at or before the
// one fired for the same due version (an extension re-armed it; completion
// closed it). Idempotent.
void AdvanceFired(store::WriteTxn& txn, const std::vector<PendingAdvance>& advances,
                  absl::Time now);

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_FIRING_H_
