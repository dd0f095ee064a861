#include "services/sql_connector/sqlite_engine.h"

#include <sqlite3.h>

#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dsar::sql_connector {

namespace {

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  const std::string message =
      absl::StrCat(what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return absl::UnavailableError(message);
    case SQLITE_CONSTRAINT:
      return absl::AbortedError(message);
    case SQLITE_ERROR:
      if (absl::StrContains(message, "no such table") ||
          absl::StrContains(message, "no such column")) {
        return absl::FailedPreconditionError(message);
      }
      return absl::InternalError(message);
    default:
      return absl::InternalError(message);
  }
}

TypeFamily FamilyOf(absl::string_view declared) {
  const std::string t = absl::AsciiStrToUpper(declared);
  if (absl::StrContains(t, "BOOL")) return TypeFamily::kBool;
  if (absl::StrContains(t, "INT")) return TypeFamily::kInteger;
  if (absl::StrContains(t, "DATE") || absl::StrContains(t, "TIME")) return TypeFamily::kTime;
  if (absl::StrContains(t, "CHAR") || absl::StrContains(t, "CLOB") ||
      absl::StrContains(t, "TEXT")) {
    return TypeFamily::kText;
  }
  if (absl::StrContains(t, "REAL") || absl::StrContains(t, "FLOA") ||
      absl::StrContains(t, "DOUB") || absl::StrContains(t, "NUMERIC") ||
      absl::StrContains(t, "DECIMAL")) {
    return TypeFamily::kReal;
  }
  return TypeFamily::kOther;
}

class SqliteConnection final : public SqlConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  absl::Status Execute(absl::string_view sql) override {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
    sqlite3_free(error);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "execute");
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Update(absl::string_view sql, const Params& params) override {
    auto stmt = Prepare(sql, params);
    if (!stmt.ok()) return stmt.status();
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    }
    sqlite3_reset(*stmt);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "update");
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  absl::Status Query(absl::string_view sql, const Params& params,
                     absl::FunctionRef<void(const Row&)> row_fn) override {
    auto stmt = Prepare(sql, params);
    if (!stmt.ok()) return stmt.status();
    sqlite3_stmt* s = *stmt;
    const int n = sqlite3_column_count(s);
    Row row(n);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      for (int i = 0; i < n; ++i) ReadValue(s, i, row[i]);
      row_fn(row);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "query");
    return absl::OkStatus();
  }

  absl::StatusOr<Catalogue> ReadCatalogue() override {
    Catalogue out;
    std::vector<std::string> tables;
    absl::Status s = Query("SELECT name FROM sqlite_master WHERE type = 'table'", {},
                           [&](const Row& r) { tables.push_back(r[0].text); });
    if (!s.ok()) return s;
    for (const auto& t : tables) {
      auto& columns = out.tables[t];
      // pragma_table_info takes the table name as a parameter.
      s = Query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)", {t},
                [&](const Row& r) {
                  ColumnInfo c;
                  c.name = r[0].text;
                  c.declared_type = r[1].text;
                  c.family = FamilyOf(r[1].text);
                  c.nullable = r[2].text == "0" && r[3].text == "0";
                  columns.push_back(std::move(c));
                });
      if (!s.ok()) return s;
    }
    return out;
  }

  bool healthy() const override { return true; }

 private:
  absl::StatusOr<sqlite3_stmt*> Prepare(absl::string_view sql, const Params& params) {
    std::string key(sql);
    sqlite3_stmt* stmt = nullptr;
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      stmt = it->second;
    } else {
      int rc = sqlite3_prepare_v2(db_, key.c_str(), static_cast<int>(key.size()), &stmt, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
      if (cache_.size() >= 256) {
        for (auto& [k, v] : cache_) sqlite3_finalize(v);
        cache_.clear();
      }
      cache_.emplace(std::move(key), stmt);
    }
    sqlite3_clear_bindings(stmt);
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      int rc = params[i] ? sqlite3_bind_text(stmt, index, params[i]->data(),
                                             static_cast<int>(params[i]->size()), SQLITE_TRANSIENT)
                         : sqlite3_bind_null(stmt, index);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "bind");
    }
    return stmt;
  }

  static void ReadValue(sqlite3_stmt* s, int i, Value& v) {
    switch (sqlite3_column_type(s, i)) {
      case SQLITE_NULL:
        v.kind = ValueKind::kNull;
        v.text.clear();
        return;
      case SQLITE_INTEGER: {
        const char* decl = sqlite3_column_decltype(s, i);
        const int64_t n = sqlite3_column_int64(s, i);
        if (decl != nullptr && FamilyOf(decl) == TypeFamily::kBool) {
          v.kind = ValueKind::kBool;
          v.text = n != 0 ? "true" : "false";
        } else {
          v.kind = ValueKind::kInteger;
          v.text = std::to_string(n);
        }
        return;
      }
      case SQLITE_FLOAT:
        v.kind = ValueKind::kReal;
        v.text = absl::StrCat(sqlite3_column_double(s, i));
        return;
      default: {
        v.kind = ValueKind::kText;
        const unsigned char* text = sqlite3_column_text(s, i);
        v.text.assign(reinterpret_cast<const char*>(text), sqlite3_column_bytes(s, i));
        return;
      }
    }
  }

  sqlite3* const db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlConnection>> SqliteEngine::Connect() {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = absl::UnavailableError(absl::StrCat(
        "cannot open the SQLite database: ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_busy_timeout(db, static_cast<int>(absl::ToInt64Milliseconds(busy_timeout_)));
  auto connection = std::make_unique<SqliteConnection>(db);
  if (absl::Status s = connection->Execute("PRAGMA foreign_keys = ON"); !s.ok()) return s;
  return connection;
}

std::string SqliteEngine::Placeholder(int n) const { return absl::StrCat("?", n); }

std::string SqliteEngine::EpochSeconds(absl::string_view column) const {
  return absl::StrCat("CAST(strftime('%s', ", column, ") AS INTEGER)");
}

}  // namespace dsar::sql_connector
