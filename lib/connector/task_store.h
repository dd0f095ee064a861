// SQL over the outbox_tasks table (migrations 3 and 5), shared by the Outbox,
// the Dispatcher and the admin operations. Nothing here decides policy.
//
// next_attempt_us says when the dispatcher should next look at a task: its
// retry time (pending, failed, waiting), its lease expiry (running), or kNever
// (done, skipped, dead). Claiming is therefore one indexed range scan over
// (connector, next_attempt_us), and a running task whose dsard died becomes
// claimable again once its lease expires (or at once, via RecoverLeases, when
// dsard restarts). All functions run inside the caller's transaction.
#ifndef DSAR_LIB_CONNECTOR_TASK_STORE_H_
#define DSAR_LIB_CONNECTOR_TASK_STORE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/connector/task.h"
#include "lib/store/txn.h"

namespace dsar::connector::task_store {

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

struct ClaimedTask {
  TaskInfo info;
  std::string payload;  // sealed
};

// ALREADY_EXISTS when the task id is taken.
absl::Status Insert(store::WriteTxn& txn, const TaskInfo& info, absl::string_view payload);

// Marks up to `limit` due tasks of `connector` running under `owner` until
// `lease_until`, counting an attempt unless the task was waiting.
std::vector<ClaimedTask> Claim(store::WriteTxn& txn, absl::string_view connector,
                               absl::string_view owner, absl::Time now, absl::Time lease_until,
                               int limit);

// Ends a running task held by `owner`: sets state, result, error and next
// attempt (kNever for final states); wipes the payload when `wipe_payload`.
// False when the lease was lost (another owner or state), and nothing changed.
bool Finish(store::WriteTxn& txn, absl::string_view task_id, absl::string_view owner,
            TaskState state, const TaskResult& result, absl::string_view last_error,
            int64_t next_attempt_us, absl::Time now, bool wipe_payload);

// Makes every running task claimable now (a restarted dsard owns none).
int RecoverLeases(store::WriteTxn& txn, absl::Time now);

// Unfinished tasks of connectors no longer configured become skipped.
int SkipUnknownConnectors(store::WriteTxn& txn, const std::vector<std::string>& known,
                          absl::Time now);

// NOT_FOUND, or FAILED_PRECONDITION unless the task is failed, dead or
// skipped; then pending again with attempts reset.
absl::StatusOr<TaskInfo> Retry(store::WriteTxn& txn, absl::string_view tenant,
                               absl::string_view task_id, absl::Time now);

// Tasks of `tenant` serving `resource` that have no outcome yet (any state but
// done, skipped and no_match; Finished() in task.h), as seen inside `txn`.
int64_t CountOpenTasksForResource(store::WriteTxn& txn, absl::string_view tenant,
                                  absl::string_view resource);

struct ListQuery {
  std::string tenant;             // required
  std::vector<TaskState> states;  // empty: all
  std::string connector;          // empty: all
  std::string resource;           // empty: all
  int page_size = 50;             // 1..500
  std::string page_token;         // from a previous page
};

struct TaskPage {
  std::vector<TaskInfo> tasks;  // newest first
  std::string next_page_token;  // empty on the last page
};

// INVALID_ARGUMENT (field page_token / page_size).
template <typename Txn>
absl::StatusOr<TaskPage> List(Txn& txn, const ListQuery& query);
// NOT_FOUND when the tenant has no such task.
template <typename Txn>
absl::StatusOr<TaskInfo> Get(Txn& txn, absl::string_view tenant, absl::string_view task_id);

// When a task of `connector` was last done; nullopt if never.
std::optional<absl::Time> LastDone(store::ReadTxn& txn, absl::string_view connector);

// Tasks by tenant, connector and state (the state's stored name), for the
// metrics endpoint: lib/ops asks here instead of reading outbox_tasks.
struct StateCount {
  std::string tenant;
  std::string connector;
  std::string state;
  int64_t count = 0;
};
std::vector<StateCount> CountByState(store::ReadTxn& txn);

std::string ResultToJson(const TaskResult& result);
TaskResult ResultFromJson(absl::string_view json);

}  // namespace dsar::connector::task_store

#endif  // DSAR_LIB_CONNECTOR_TASK_STORE_H_
