#include "lib/store/txn.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

namespace dsar::store {

Connection::Connection(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}
Connection::~Connection() {
  statements_.clear();  // finalize statements before the database closes
}

SQLite::Statement& Connection::Prepare(absl::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    it = statements_
             .emplace(std::string(sql), std::make_unique<SQLite::Statement>(*db_, std::string(sql)))
             .first;
  } else {
    // tryReset: reset() would rethrow the statement's last error.
    it->second->tryReset();
    it->second->clearBindings();
  }
  handed_out_.push_back(it->second.get());
  return *it->second;
}

int Connection::Exec(absl::string_view sql) {
  SQLite::Statement& stmt = Prepare(sql);
  int changes = stmt.exec();
  stmt.tryReset();
  return changes;
}

void Connection::ResetStatements() {
  for (SQLite::Statement* stmt : handed_out_) stmt->tryReset();
  handed_out_.clear();
}

}  // namespace dsar::store
