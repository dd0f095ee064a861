// Multi-row statements: one INSERT (or UPDATE ... FROM (VALUES ...)) for many
// rows costs one statement's fixed overhead instead of one per row, which is
// what batched writers (consent records, deadline firing) are after.
//
// Rows go in chunks of at most kMaxChunkRows; a shorter tail uses the next
// lower power of two, so at most seven statement texts per shape are ever
// prepared (and kept in the connection's statement cache).
#ifndef DSAR_LIB_STORE_MULTI_ROW_H_
#define DSAR_LIB_STORE_MULTI_ROW_H_

#include <cstddef>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "lib/store/txn.h"

namespace dsar::store {

inline constexpr size_t kMaxChunkRows = 64;

// Rows the next statement takes when `left` rows remain (a power of two).
size_t ChunkRows(size_t left);

// "<head>(?,...,?),(?,...,?)...<tail>": `rows` tuples of `cols` parameters.
std::string MultiRowSql(absl::string_view head, int cols, size_t rows, absl::string_view tail);

// Executes "<head>(...),(...)<tail>" over `rows` rows in chunks:
// bind_row(statement, param, row) binds row `row`'s `cols` values from
// parameter `param` on, advancing it. Values bound without copying must
// outlive the call.
void ExecMultiRow(
    WriteTxn& txn, absl::string_view head, int cols, absl::string_view tail, size_t rows,
    absl::FunctionRef<void(SQLite::Statement& statement, int& param, size_t row)> bind_row);

}  // namespace dsar::store

#endif  // DSAR_LIB_STORE_MULTI_ROW_H_
