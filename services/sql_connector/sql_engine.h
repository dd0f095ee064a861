// SqlEngine and SqlConnection: the little of a SQL database the generic
// connector needs (parameterised statements, transactions, the catalogue),
// with one implementation per engine (PostgreSQL through libpq, SQLite).
//
// It exists so that the dataset map, the statements built from it and the
// erasure logic are written once for both engines; what differs (identifier
// quoting, placeholders, catalogue queries, error classes) sits behind this.
// Values travel as text with a kind, parameters as text or NULL: every value
// from outside is a parameter, every identifier is quoted by the engine.
//
// Errors: UNAVAILABLE for a lost or refused connection or a busy database
// (retry), ABORTED for a serialisation failure or a deadlock (retry),
// FAILED_PRECONDITION for a missing table or column (the map no longer
// matches the database: permanent), INTERNAL for anything else.
// A connection is used by one thread at a time; engines are thread-safe.
#ifndef DSAR_SERVICES_SQL_CONNECTOR_SQL_ENGINE_H_
#define DSAR_SERVICES_SQL_CONNECTOR_SQL_ENGINE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dsar::sql_connector {

enum class ValueKind { kNull, kInteger, kReal, kBool, kText };

// One value of a result row: its kind and its text form ("42", "true",
// "2026-01-02 03:04:05+00").
struct Value {
  ValueKind kind = ValueKind::kNull;
  std::string text;
  bool is_null() const { return kind == ValueKind::kNull; }
};
using Row = std::vector<Value>;

// A statement parameter: text, or NULL when empty. Engines let the database
// convert the text to the column's type.
using Param = std::optional<std::string>;
using Params = std::vector<Param>;

// Broad type of a column, enough to check a map's use of it.
enum class TypeFamily { kInteger, kReal, kText, kBool, kTime, kOther };

struct ColumnInfo {
  std::string name;
  TypeFamily family = TypeFamily::kOther;
  std::string declared_type;  // as the catalogue spells it, for messages
  bool nullable = true;
};

// Tables of the database (PostgreSQL: schema "public") and their columns in
// catalogue order.
struct Catalogue {
  std::map<std::string, std::vector<ColumnInfo>> tables;
  const ColumnInfo* Find(const std::string& table, const std::string& column) const;
};

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  // Runs a statement without parameters or results (BEGIN, COMMIT, DDL).
  virtual absl::Status Execute(absl::string_view sql) = 0;
  // Runs a statement with parameters; returns the rows it changed.
  virtual absl::StatusOr<int64_t> Update(absl::string_view sql, const Params& params) = 0;
  // Runs a query with parameters, calling `row` for each result row.
  virtual absl::Status Query(absl::string_view sql, const Params& params,
                             absl::FunctionRef<void(const Row&)> row) = 0;
  virtual absl::StatusOr<Catalogue> ReadCatalogue() = 0;
  // False once the connection is lost; the pool then drops it.
  virtual bool healthy() const = 0;
};

class SqlEngine {
 public:
  virtual ~SqlEngine() = default;
  virtual absl::StatusOr<std::unique_ptr<SqlConnection>> Connect() = 0;
  // "postgresql" or "sqlite".
  virtual absl::string_view name() const = 0;
  // `name` as a quoted identifier ("name" with inner quotes doubled).
  virtual std::string QuoteIdentifier(absl::string_view name) const;
  // The placeholder of parameter `n` (1-based): "$n" or "?n".
  virtual std::string Placeholder(int n) const = 0;
  // An expression giving the seconds since the epoch of timestamp `column`
  // (already quoted).
  virtual std::string EpochSeconds(absl::string_view column) const = 0;
  // The statement that opens a transaction which will write.
  virtual absl::string_view BeginWrite() const { return "BEGIN"; }
};

}  // namespace dsar::sql_connector

#endif  // DSAR_SERVICES_SQL_CONNECTOR_SQL_ENGINE_H_
