#include "lib/store/multi_row.h"


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

}  // namespace dsar::store
