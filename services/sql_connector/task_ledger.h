// TaskLedger: the tables the SQL connector owns in the database it serves —
// processed tasks (task id -> first response, for idempotency by task id:
// written in the same transaction as the erasure or consent change) and
// erased rows (so ListEndedRelationships does not list an anonymised person
// again). Created at start if missing. Thread-safe (stateless; the caller
// owns the connection and its transaction).
#ifndef DSAR_SERVICES_SQL_CONNECTOR_TASK_LEDGER_H_
#define DSAR_SERVICES_SQL_CONNECTOR_TASK_LEDGER_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "services/sql_connector/sql_engine.h"

namespace dsar::sql_connector {

class TaskLedger {
 public:
  // `tasks_table` is the map's state_table; the erased rows go to
  // "<tasks_table>_erased". `engine` is not owned.
  TaskLedger(const SqlEngine* engine, std::string tasks_table);

  absl::Status CreateTables(SqlConnection& c) const;
  // The stored response of `task_id`, or nullopt.
  absl::StatusOr<std::optional<std::string>> Find(SqlConnection& c,
                                                  const std::string& task_id) const;
  // ABORTED when another call recorded the task first (it was running
  // twice); the caller's transaction must then roll back.
  absl::Status Record(SqlConnection& c, const std::string& task_id, const std::string& kind,
                      const std::string& response, int64_t now_us) const;
  absl::Status MarkErased(SqlConnection& c, const std::string& table,
                          const std::string& row_key) const;
  // A condition true for rows of `table` (its primary key `key_column`,
  // quoted) not marked erased; appends one parameter.
  std::string NotErased(const std::string& table, const std::string& key_column,
                        Params& params) const;

 private:
  const SqlEngine* const engine_;
  const std::string tasks_, erased_;
};

}  // namespace dsar::sql_connector

#endif  // DSAR_SERVICES_SQL_CONNECTOR_TASK_LEDGER_H_
