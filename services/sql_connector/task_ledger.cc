#include "services/sql_connector/task_ledger.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace dsar::sql_connector {

TaskLedger::TaskLedger(const SqlEngine* engine, std::string tasks_table)
    : engine_(engine), tasks_(std::move(tasks_table)), erased_(tasks_ + "_erased") {}

absl::Status TaskLedger::CreateTables(SqlConnection& c) const {
  const std::string tasks = engine_->QuoteIdentifier(tasks_);
  const std::string erased = engine_->QuoteIdentifier(erased_);
  if (absl::Status s = c.Execute(
          absl::StrCat("CREATE TABLE IF NOT EXISTS ", tasks,
                       " (task_id TEXT PRIMARY KEY, kind TEXT NOT NULL, response TEXT NOT NULL, "
                       "created_us BIGINT NOT NULL)"));
      !s.ok()) {
    return s;
  }
  return c.Execute(absl::StrCat("CREATE TABLE IF NOT EXISTS ", erased,
                                " (table_name TEXT NOT NULL, row_key TEXT NOT NULL, "
                                "PRIMARY KEY (table_name, row_key))"));
}

absl::StatusOr<std::optional<std::string>> TaskLedger::Find(SqlConnection& c,
                                                            const std::string& task_id) const {
  std::optional<std::string> out;
  absl::Status s = c.Query(absl::StrCat("SELECT response FROM ", engine_->QuoteIdentifier(tasks_),
                                        " WHERE task_id = ", engine_->Placeholder(1)),
                           {task_id}, [&](const Row& r) {
                             std::string bytes;
                             if (absl::Base64Unescape(r[0].text, &bytes)) out = std::move(bytes);
                           });
  if (!s.ok()) return s;
  return out;
}

absl::Status TaskLedger::Record(SqlConnection& c, const std::string& task_id,
                                const std::string& kind, const std::string& response,
                                int64_t now_us) const {
  auto n = c.Update(absl::StrCat("INSERT INTO ", engine_->QuoteIdentifier(tasks_),
                                 " (task_id, kind, response, created_us) VALUES (",
                                 engine_->Placeholder(1), ", ", engine_->Placeholder(2), ", ",
                                 engine_->Placeholder(3), ", ", engine_->Placeholder(4), ")"),
                    {task_id, kind, absl::Base64Escape(response), std::to_string(now_us)});
  return n.status();
}

absl::Status TaskLedger::MarkErased(SqlConnection& c, const std::string& table,
                                    const std::string& row_key) const {
  auto n = c.Update(absl::StrCat("INSERT INTO ", engine_->QuoteIdentifier(erased_),
                                 " (table_name, row_key) VALUES (", engine_->Placeholder(1), ", ",
                                 engine_->Placeholder(2), ") ON CONFLICT DO NOTHING"),
                    {table, row_key});
  return n.status();
}

std::string TaskLedger::NotErased(const std::string& table, const std::string& key_column,
                                  Params& params) const {
  params.push_back(table);
  // The key is compared as text: the ledger keeps keys of any type.
  return absl::StrCat("CAST(", key_column, " AS TEXT) NOT IN (SELECT row_key FROM ",
                      engine_->QuoteIdentifier(erased_),
                      " WHERE table_name = ", engine_->Placeholder(static_cast<int>(params.size())),
                      ")");
}

}  // namespace dsar::sql_connector
