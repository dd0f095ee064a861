// Transactions handed to domain code: a connection plus a cache of prepared
// statements.
//
// Write functions receive a WriteTxn on the writer thread, inside their own
// SAVEPOINT; read functions receive a ReadTxn on a pooled read-only connection
// inside a snapshot (BEGIN ... COMMIT). Statements are prepared once per
// connection and reused: Prepare() returns the cached statement reset and with
// its bindings cleared. SQLite exceptions thrown by statement methods are
// caught by the Store that runs the function and become absl::Status; domain
// code may still catch nothing. Not thread-safe: a Txn belongs to one call.
#ifndef DSAR_LIB_STORE_TXN_H_
#define DSAR_LIB_STORE_TXN_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace dsar::store {

// One connection and its prepared statements.
class Connection {
 public:
  explicit Connection(std::unique_ptr<SQLite::Database> db);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  SQLite::Database& db() { return *db_; }
  // Cached statement for `sql`, reset, bindings cleared.
  SQLite::Statement& Prepare(absl::string_view sql);
  // Prepares (cached) and executes a statement that returns no rows.
  int Exec(absl::string_view sql);
  // Resets every statement handed out since the last call, so none is left
  // mid-step when a transaction or savepoint ends. Never throws.
  void ResetStatements();

 private:
  std::unique_ptr<SQLite::Database> db_;
  absl::flat_hash_map<std::string, std::unique_ptr<SQLite::Statement>> statements_;
  std::vector<SQLite::Statement*> handed_out_;
};

class ReadTxn {
 public:
  explicit ReadTxn(Connection& conn) : conn_(conn) {}
  SQLite::Statement& Prepare(absl::string_view sql) { return conn_.Prepare(sql); }
  SQLite::Database& db() { return conn_.db(); }

 private:
  Connection& conn_;
};

class WriteTxn {
 public:
  using Hook = absl::AnyInvocable<void() &&>;

  explicit WriteTxn(Connection& conn) : conn_(conn) {}
  SQLite::Statement& Prepare(absl::string_view sql) { return conn_.Prepare(sql); }
  int Exec(absl::string_view sql) { return conn_.Exec(sql); }
  SQLite::Database& db() { return conn_.db(); }

  // Runs `hook` on the writer thread once this write's transaction has
  // committed (fsync'd), before any write's completion callback runs and
  // before the next group begins, in commit order. Dropped when the write
  // fails (its savepoint is rolled back) or the commit fails. For in-memory
  // views of committed rows (e.g. the consent state index): they change in
  // the order the database did, and a caller answered after its commit sees
  // its own change. Hooks must be quick and must not call back into the Store.
  void AfterCommit(Hook hook) { hooks_.push_back(std::move(hook)); }
  std::vector<Hook> TakeHooks() { return std::move(hooks_); }

 private:
  Connection& conn_;
  std::vector<Hook> hooks_;
};

}  // namespace dsar::store

#endif  // DSAR_LIB_STORE_TXN_H_
