// SubjectSql: the statements of the SQL connector, built from a DatasetPlan
// for one engine: which rows of each table belong to a subject (identity
// columns, or join paths up to them as nested IN subqueries), and the
// selects, deletes and updates over those rows.
//
// It exists to keep SQL text apart from the erasure and export rules. Every
// identifier comes from the validated plan and is quoted by the engine;
// every value (identifiers of the person, masks, hashes, cursors) is a
// parameter appended to the caller's Params. Thread-safe (immutable).
#ifndef DSAR_SERVICES_SQL_CONNECTOR_SUBJECT_SQL_H_
#define DSAR_SERVICES_SQL_CONNECTOR_SUBJECT_SQL_H_

#include <string>
#include <utility>
#include <vector>

#include "services/sql_connector/dataset_map.h"
#include "services/sql_connector/sql_engine.h"

namespace dsar::sql_connector {

// The subject's identifier values by map identity type.
struct SubjectValues {
  std::vector<std::pair<config::v1::IdentityType, std::string>> values;
  bool empty() const { return values.empty(); }
};

class SubjectSql {
 public:
  // Neither is owned; both must outlive this.
  SubjectSql(const DatasetPlan* plan, const SqlEngine* engine) : plan_(plan), engine_(engine) {}

  std::string Q(absl::string_view identifier) const { return engine_->QuoteIdentifier(identifier); }
  // Appends `value` to `params` and returns its placeholder.
  std::string Bind(Params& params, Param value) const;

  // A condition selecting the subject's rows of table `t`.
  std::string Match(int t, const SubjectValues& subject, Params& params) const;
  // SELECT of every mapped column (primary key first) of the subject's rows
  // of `t` with a primary key after `after` (none when nullopt), in key
  // order, at most `limit`.
  std::string SelectPage(int t, const SubjectValues& subject, const Param& after, int limit,
                         Params& params) const;
  // SELECT of the primary key and the given columns of the subject's rows.
  std::string SelectColumns(int t, const std::vector<std::string>& columns,
                            const SubjectValues& subject, Params& params) const;

  const DatasetPlan& plan() const { return *plan_; }
  const SqlEngine& engine() const { return *engine_; }

 private:
  const DatasetPlan* const plan_;
  const SqlEngine* const engine_;
};

}  // namespace dsar::sql_connector

#endif  // DSAR_SERVICES_SQL_CONNECTOR_SUBJECT_SQL_H_
