#include "services/sql_connector/subject_sql.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace dsar::sql_connector {

std::string SubjectSql::Bind(Params& params, Param value) const {
  params.push_back(std::move(value));
  return engine_->Placeholder(static_cast<int>(params.size()));
}

std::string SubjectSql::Match(int t, const SubjectValues& subject, Params& params) const {
  const config::v1::DatasetTable& table = plan_->table(t);
  const int parent = plan_->parent[t];
  if (parent >= 0) {
    return absl::StrCat(Q(table.join().column()), " IN (SELECT ", Q(table.join().parent_column()),
                        " FROM ", Q(plan_->table(parent).name()), " WHERE ",
                        Match(parent, subject, params), ")");
  }
  std::vector<std::string> terms;
  for (const auto& identity : table.identities()) {
    std::vector<std::string> placeholders;
    for (const auto& [type, value] : subject.values) {
      if (type == identity.type()) placeholders.push_back(Bind(params, value));
    }
    if (placeholders.empty()) continue;
    terms.push_back(
        absl::StrCat(Q(identity.column()), " IN (", absl::StrJoin(placeholders, ", "), ")"));
  }
  if (terms.empty()) return "1 = 0";
  return absl::StrCat("(", absl::StrJoin(terms, " OR "), ")");
}

std::string SubjectSql::SelectPage(int t, const SubjectValues& subject, const Param& after,
                                   int limit, Params& params) const {
  const config::v1::DatasetTable& table = plan_->table(t);
  std::vector<std::string> columns = {Q(table.primary_key())};
  for (const auto& c : table.columns()) columns.push_back(Q(c.name()));
  std::string sql = absl::StrCat("SELECT ", absl::StrJoin(columns, ", "), " FROM ", Q(table.name()),
                                 " WHERE ", Match(t, subject, params));
  if (after.has_value()) {
    absl::StrAppend(&sql, " AND ", Q(table.primary_key()), " > ", Bind(params, after));
  }
  absl::StrAppend(&sql, " ORDER BY ", Q(table.primary_key()), " LIMIT ", limit);
  return sql;
}

std::string SubjectSql::SelectColumns(int t, const std::vector<std::string>& columns,
                                      const SubjectValues& subject, Params& params) const {
  const config::v1::DatasetTable& table = plan_->table(t);
  std::vector<std::string> quoted = {Q(table.primary_key())};
  for (const auto& c : columns) quoted.push_back(Q(c));
  return absl::StrCat("SELECT ", absl::StrJoin(quoted, ", "), " FROM ", Q(table.name()), " WHERE ",
                      Match(t, subject, params));
}

}  // namespace dsar::sql_connector
