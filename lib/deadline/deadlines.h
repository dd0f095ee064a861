// Deadlines: the one stored table of obligations with a clock, and the API
// other modules use to start, stop and move those clocks.
//
// Every mutating call runs inside the caller's write transaction (a WriteTxn
// handed to a store::Store::Write function), so a deadline is scheduled,
// completed or extended exactly when the change that causes it commits: a
// consent withdrawal and its propagation deadline, a privacy request and its
// two clocks (request.processor and request.gdpr). Reads take a ReadTxn.
//
// A deadline is identified for callers by (tenant, kind, resource): at most one
// deadline per key is open at a time. Alert levels (levels.h) are tracked per
// deadline as the next level to fire; the Scheduler (scheduler.h) fires them.
// An extension re-arms the levels against the new due time (each level fires
// once per due time); a pause stops the clock (the due time moves by the time
// spent paused, and no level fires while paused).
//
// Thread-safety: a Deadlines object is immutable after construction except
// for its observer pointer; its methods may be called from any thread, each
// with its own transaction.
#ifndef DSAR_LIB_DEADLINE_DEADLINES_H_
#define DSAR_LIB_DEADLINE_DEADLINES_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/deadline/due_time.h"
#include "lib/deadline/kinds.h"
#include "lib/deadline/levels.h"
#include "lib/deadline/resource_names.h"
#include "lib/store/txn.h"

namespace dsar::deadline {

// What a kind of deadline means.
struct KindRule {
  DueRule due;              // due = ComputeDue(start, due)
  bool extendable = false;  // whether Extend is allowed
  // Latest due time an extension may reach, as a rule from the start
  // (request.gdpr: 3 months = 1 + 2 further). Unset: no limit.
  std::optional<DueRule> extension_limit;
};

// request.processor 72h (extendable), request.gdpr 1 month (+2 months),
// breach.controller_notification, breach.authority_notification and
// breach.subject_communication 72h, consent.withdrawal_propagation 72h.
std::map<std::string, KindRule> DefaultKindRules();

struct DeadlineOptions {
  // Zone of the calendar used for month-based periods.
  absl::TimeZone time_zone = absl::UTCTimeZone();
  AlertLevels levels;
  std::map<std::string, KindRule> kinds = DefaultKindRules();
};

enum class DeadlineState { kOpen, kCompleted, kCancelled };
const char* DeadlineStateName(DeadlineState state);  // "open", "completed", "cancelled"

struct Deadline {
  std::string tenant;
  std::string deadline_id;  // "dl_..."
  std::string kind;
  std::string resource;  // the obligation's subject, e.g. "privacyRequests/req_x"
  DeadlineState state = DeadlineState::kOpen;
  absl::Time started_at;
  absl::Time initial_due_at;  // as first scheduled
  // Current due time, moved by extensions and by time spent paused. While
  // paused it is the due time had the clock been resumed at paused_at.
  absl::Time due_at;
  int due_version = 1;  // +1 per extension
  std::optional<absl::Time> paused_at;
  absl::Duration paused_total = absl::ZeroDuration();
  int extension_count = 0;
  std::string extension_reason;               // of the latest extension
  int levels_fired = 0;                       // alerts fired for this deadline, all versions
  std::optional<absl::Duration> next_offset;  // next level, relative to due
  std::optional<absl::Time> next_alert_at;    // unset when closed, paused or none left
  std::optional<absl::Time> closed_at;
  absl::Time created_at;
  absl::Time updated_at;

  bool paused() const { return paused_at.has_value(); }
  // Open, not paused and past due at `now`.
  bool OverdueAt(absl::Time now) const {
    return state == DeadlineState::kOpen && !paused() && due_at <= now;
  }
  std::string name() const { return DeadlineName(deadline_id); }
};

struct ScheduleRequest {
  std::string tenant;
  std::string kind;      // one of kinds.h (or a kind added to the options)
  std::string resource;  // 1-256 characters, an id (never personal data)
  absl::Time start;      // when the clock starts (receipt, awareness, withdrawal)
  // Overrides the kind's rule (must be after start); e.g. a contract's SLA.
  std::optional<absl::Time> due;
  // How the SLA report breaks the kind down (at most 32 characters; empty:
  // not at all). Privacy requests give their type ("access", "erasure", ...),
  // so the report needs no other module's rows.
  std::string sla_group;
};

// Names one deadline for the mutating calls: the open (or else the latest)
// deadline of this kind for this resource.
struct DeadlineKey {
  std::string tenant;
  std::string kind;
  std::string resource;
};

// Told about the next alert time of a deadline when it is scheduled or moved,
// from inside the writer's transaction (before it commits, so the deadline may
// still be rolled back). Must be fast and must not block. The Scheduler
// implements it to wake early.
class ScheduleObserver {
 public:
  virtual ~ScheduleObserver() = default;
  virtual void OnNextAlert(absl::string_view tenant, absl::string_view deadline_id,
                           absl::Time fire_at) = 0;
};

struct ListQuery {
  std::string tenant;                                         // required
  std::string kind;                                           // empty: every kind
  std::optional<DeadlineState> state = DeadlineState::kOpen;  // unset: any state
  std::optional<absl::Time> due_before;                       // due_at < due_before
  bool overdue_only = false;                                  // open, not paused, due_at <= now
  int page_size = 50;                                         // 1..1000 (0 means 50)
  std::string page_token;                                     // from a previous page
};

struct DeadlinePage {
  std::vector<Deadline> deadlines;  // by due time, then id
  std::string next_page_token;      // empty on the last page
};

class Deadlines {
 public:
  // Validates the options (levels, kind rules). INVALID_ARGUMENT otherwise.
  static absl::StatusOr<std::unique_ptr<Deadlines>> Create(DeadlineOptions options);

  const DeadlineOptions& options() const { return options_; }

  // Starts a deadline. Errors: INVALID_ARGUMENT (fields "tenant", "kind",
  // "resource", "start", "due"); ALREADY_EXISTS when the key already has an
  // open deadline.
  absl::StatusOr<Deadline> Schedule(store::WriteTxn& txn, const ScheduleRequest& request,
                                    absl::Time now) const;

  // Closes the open deadline as done at `now` (on time when now <= due; a
  // paused one is resumed first). Pending levels never fire. Errors: NOT_FOUND
  // (no deadline for the key); FAILED_PRECONDITION (already closed).
  absl::StatusOr<Deadline> Complete(store::WriteTxn& txn, const DeadlineKey& key,
                                    absl::Time now) const;

  // Closes the open deadline without it counting for or against the SLA
  // (e.g. a request withdrawn by the subject). Errors as Complete.
  absl::StatusOr<Deadline> Cancel(store::WriteTxn& txn, const DeadlineKey& key,
                                  absl::Time now) const;

  // Moves the due time later, with a reason (stored; the caller tells the
  // subject). Levels are re-armed against the new due time. Errors:
  // INVALID_ARGUMENT ("reason" empty or > 1000 chars; "new_due" not later than
  // the current due or beyond the kind's limit); NOT_FOUND;
  // FAILED_PRECONDITION (closed, paused, kind not extendable, or already past
  // due: an extension must be decided before the deadline passes).
  absl::StatusOr<Deadline> Extend(store::WriteTxn& txn, const DeadlineKey& key, absl::Time new_due,
                                  absl::string_view reason, absl::Time now) const;

  // Stops the clock (e.g. while waiting for the subject's identity). Errors:
  // NOT_FOUND; FAILED_PRECONDITION (closed or already paused).
  absl::StatusOr<Deadline> Pause(store::WriteTxn& txn, const DeadlineKey& key,
                                 absl::Time now) const;

  // Restarts the clock; the due time moves by the time spent paused. Errors:
  // NOT_FOUND; FAILED_PRECONDITION (closed or not paused).
  absl::StatusOr<Deadline> Resume(store::WriteTxn& txn, const DeadlineKey& key,
                                  absl::Time now) const;

  // The due time the kind's rule gives for `start`. INVALID_ARGUMENT for an
  // unknown kind.
  absl::StatusOr<absl::Time> DueFor(absl::string_view kind, absl::Time start) const;

  // Latest due time Extend accepts for `deadline` (InfiniteFuture when the
  // kind has no limit). FAILED_PRECONDITION when the kind is not extendable.
  absl::StatusOr<absl::Time> ExtensionLimit(const Deadline& deadline) const;

  // Reads. NOT_FOUND when absent (or another tenant's).
  absl::StatusOr<Deadline> Get(store::ReadTxn& txn, absl::string_view tenant,
                               absl::string_view deadline_id) const;
  absl::StatusOr<Deadline> Find(store::ReadTxn& txn, const DeadlineKey& key) const;
  // The same inside a write transaction (e.g. to compute ExtensionLimit before
  // Extend).
  absl::StatusOr<Deadline> Find(store::WriteTxn& txn, const DeadlineKey& key) const;
  // INVALID_ARGUMENT (fields "tenant", "page_size", "page_token").
  absl::StatusOr<DeadlinePage> List(store::ReadTxn& txn, const ListQuery& query,
                                    absl::Time now) const;

  // At most one observer; null clears. Thread-safe.
  void set_observer(ScheduleObserver* observer) { observer_.store(observer); }
  // Clears the observer only if it is `observer`.
  void clear_observer(ScheduleObserver* observer) {
    observer_.compare_exchange_strong(observer, nullptr);
  }

 private:
  explicit Deadlines(DeadlineOptions options) : options_(std::move(options)) {}
  void Notify(const Deadline& d) const;

  const DeadlineOptions options_;
  std::atomic<ScheduleObserver*> observer_{nullptr};
};

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_DEADLINES_H_
