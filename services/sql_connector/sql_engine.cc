#include "services/sql_connector/sql_engine.h"

#include "absl/strings/str_replace.h"

namespace dsar::sql_connector {

const ColumnInfo* Catalogue::Find(const std::string& table, const std::string& column) const {
  auto t = tables.find(table);
  if (t == tables.end()) return nullptr;
  for (const auto& c : t->second) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

std::string SqlEngine::QuoteIdentifier(absl::string_view name) const {
  return "\"" + absl::StrReplaceAll(name, {{"\"", "\"\""}}) + "\"";
}

}  // namespace dsar::sql_connector
