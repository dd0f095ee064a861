#include "services/sql_connector/postgres_engine.h"

#include <libpq-fe.h>

#include <unordered_map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace dsar::sql_connector {

namespace {

// Type OIDs of pg_catalog.pg_type that the connector tells apart.
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kFloat4Oid = 700,
              kFloat8Oid = 701, kNumericOid = 1700;

ValueKind KindOf(Oid type) {
  switch (type) {
    case kBoolOid:
      return ValueKind::kBool;
    case kInt8Oid:
    case kInt2Oid:
    case kInt4Oid:
      return ValueKind::kInteger;
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid:
      return ValueKind::kReal;
    default:
      return ValueKind::kText;
  }
}

TypeFamily FamilyOf(absl::string_view data_type) {
  if (data_type == "boolean") return TypeFamily::kBool;
  if (data_type == "smallint" || data_type == "integer" || data_type == "bigint") {
    return TypeFamily::kInteger;
  }
  if (data_type == "real" || data_type == "double precision" || data_type == "numeric") {
    return TypeFamily::kReal;
  }
  if (data_type == "text" || data_type == "character varying" || data_type == "character" ||
      data_type == "citext") {
    return TypeFamily::kText;
  }
  if (absl::StartsWith(data_type, "timestamp") || data_type == "date") return TypeFamily::kTime;
  return TypeFamily::kOther;
}

void IgnoreNotice(void*, const char*) {}

class PostgresConnection final : public SqlConnection {
 public:
  explicit PostgresConnection(PGconn* conn) : conn_(conn) {
    PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
  }
  ~PostgresConnection() override { PQfinish(conn_); }

  absl::Status Execute(absl::string_view sql) override {
    PGresult* res = PQexec(conn_, std::string(sql).c_str());
    absl::Status s = Check(res, "execute");
    PQclear(res);
    return s;
  }

  absl::StatusOr<int64_t> Update(absl::string_view sql, const Params& params) override {
    PGresult* res = Run(sql, params);
    absl::Status s = Check(res, "update");
    int64_t changed = 0;
    if (s.ok()) {
      const char* n = PQcmdTuples(res);
      changed = n != nullptr && *n != '\0' ? std::strtoll(n, nullptr, 10) : 0;
    }
    PQclear(res);
    if (!s.ok()) return s;
    return changed;
  }

  absl::Status Query(absl::string_view sql, const Params& params,
                     absl::FunctionRef<void(const Row&)> row_fn) override {
    PGresult* res = Run(sql, params);
    absl::Status s = Check(res, "query");
    if (s.ok()) {
      const int rows = PQntuples(res), columns = PQnfields(res);
      std::vector<ValueKind> kinds(columns);
      for (int c = 0; c < columns; ++c) kinds[c] = KindOf(PQftype(res, c));
      Row row(columns);
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < columns; ++c) {
          if (PQgetisnull(res, r, c)) {
            row[c].kind = ValueKind::kNull;
            row[c].text.clear();
            continue;
          }
          row[c].kind = kinds[c];
          row[c].text.assign(PQgetvalue(res, r, c), PQgetlength(res, r, c));
          if (kinds[c] == ValueKind::kBool) row[c].text = row[c].text == "t" ? "true" : "false";
        }
        row_fn(row);
      }
    }
    PQclear(res);
    return s;
  }

  absl::StatusOr<Catalogue> ReadCatalogue() override {
    Catalogue out;
    absl::Status s = Query(
        "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable "
        "FROM information_schema.columns c JOIN information_schema.tables t "
        "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
        "ORDER BY c.table_name, c.ordinal_position",
        {}, [&](const Row& r) {
          ColumnInfo c;
          c.name = r[1].text;
          c.declared_type = r[2].text;
          c.family = FamilyOf(r[2].text);
          c.nullable = r[3].text == "YES";
          out.tables[r[0].text].push_back(std::move(c));
        });
    if (!s.ok()) return s;
    return out;
  }

  bool healthy() const override { return PQstatus(conn_) == CONNECTION_OK; }

 private:
  // Runs `sql` as a statement prepared once per connection (the connector
  // sends the same few statements for every person; parsing and planning
  // them once saves most of the server's work for small statements). On an
  // error the statement is forgotten and prepared afresh next time.
  PGresult* Run(absl::string_view sql, const Params& params) {
    std::vector<const char*> values(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      values[i] = params[i] ? params[i]->c_str() : nullptr;
    }
    std::string key(sql);
    auto it = prepared_.find(key);
    if (it == prepared_.end()) {
      if (prepared_.size() >= kMaxPrepared) {
        PQclear(PQexec(conn_, "DEALLOCATE ALL"));
        prepared_.clear();
      }
      std::string name = absl::StrCat("dsar_", next_statement_++);
      PGresult* prepared =
          PQprepare(conn_, name.c_str(), key.c_str(), static_cast<int>(params.size()), nullptr);
      if (PQresultStatus(prepared) != PGRES_COMMAND_OK) return prepared;
      PQclear(prepared);
      it = prepared_.emplace(std::move(key), std::move(name)).first;
    }
    PGresult* res = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()),
                                   values.data(), nullptr, nullptr, 0);
    const ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) prepared_.erase(it);
    return res;
  }

  absl::Status Check(PGresult* res, absl::string_view what) {
    ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return absl::OkStatus();
    // The primary message and the SQLSTATE only: the detail line can quote
    // row values (personal data), which must not reach dsard's task rows.
    const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary =
        res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    const std::string sqlstate = state != nullptr ? state : "";
    const std::string message =
        primary != nullptr
            ? absl::StrCat(what, ": ", primary, " (SQLSTATE ", sqlstate, ")")
            : absl::StrCat(what, ": ", absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn_)));
    if (PQstatus(conn_) != CONNECTION_OK) return absl::UnavailableError(message);
    if (absl::StartsWith(sqlstate, "08") || absl::StartsWith(sqlstate, "53") ||
        absl::StartsWith(sqlstate, "57")) {
      return absl::UnavailableError(message);
    }
    if (absl::StartsWith(sqlstate, "40") || absl::StartsWith(sqlstate, "23")) {
      return absl::AbortedError(message);
    }
    if (sqlstate == "42P01" || sqlstate == "42703") return absl::FailedPreconditionError(message);
    return absl::InternalError(message);
  }

  static constexpr size_t kMaxPrepared = 256;
  PGconn* const conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
  uint64_t next_statement_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlConnection>> PostgresEngine::Connect() {
  PGconn* conn = PQconnectdb(conninfo_.c_str());
  if (conn == nullptr) return absl::UnavailableError("cannot allocate a PostgreSQL connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL: ",
                     absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn))));
    PQfinish(conn);
    return s;
  }
  return std::make_unique<PostgresConnection>(conn);
}

std::string PostgresEngine::Placeholder(int n) const { return absl::StrCat("$", n); }

std::string PostgresEngine::EpochSeconds(absl::string_view column) const {
  return absl::StrCat("CAST(EXTRACT(EPOCH FROM ", column, ") AS BIGINT)");
}

}  // namespace dsar::sql_connector
