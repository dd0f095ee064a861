#include "lib/store/multi_row.h"

#include <SQLiteCpp/Statement.h>

namespace dsar::store {

size_t ChunkRows(size_t left) {
  size_t n = kMaxChunkRows;
  while (n > left) n /= 2;
  return n;
}

std::string MultiRowSql(absl::string_view head, int cols, size_t rows, absl::string_view tail) {
  std::string tuple = "(";
  for (int c = 0; c < cols; ++c) tuple.append(c == 0 ? "?" : ",?");
  tuple.push_back(')');
  std::string sql(head);
  sql.reserve(head.size() + rows * (tuple.size() + 1) + tail.size());
  for (size_t r = 0; r < rows; ++r) {
    if (r > 0) sql.push_back(',');
    sql.append(tuple);
  }
  sql.append(tail.data(), tail.size());
  return sql;
}

void ExecMultiRow(
    WriteTxn& txn, absl::string_view head, int cols, absl::string_view tail, size_t rows,
    absl::FunctionRef<void(SQLite::Statement& statement, int& param, size_t row)> bind_row) {
  for (size_t first = 0; first < rows;) {
    const size_t n = ChunkRows(rows - first);
    SQLite::Statement& statement = txn.Prepare(MultiRowSql(head, cols, n, tail));
    int param = 1;
    for (size_t row = first; row < first + n; ++row) bind_row(statement, param, row);
    statement.exec();
    first += n;
  }
}

}  // namespace dsar::store
