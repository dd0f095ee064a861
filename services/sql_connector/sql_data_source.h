// SqlDataSource: the connector operations (export, erase, consent, ended
// relationships, Describe) over a SQL database described by a DatasetPlan;
// the DataSource that dsar-sql-connector serves.
//
// - Export streams the subject's rows table by table (parents first), one
//   keyset page per batch on a pooled connection, so memory is one batch.
// - Erase is one database transaction: the processed-tasks row is checked
//   first (a repeated task id answers the stored response, replayed), then a
//   legal hold keeps everything, else each table (children first) is
//   deleted, anonymised column by column, or kept with its reason, and the
//   response is stored in the same transaction.
// - ApplyConsentChange sets the purpose's flag where the held change is
//   older, also idempotent by task id.
// Thread-safe: each call takes its own connection from the pool.
#ifndef DSAR_SERVICES_SQL_CONNECTOR_SQL_DATA_SOURCE_H_
#define DSAR_SERVICES_SQL_CONNECTOR_SQL_DATA_SOURCE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "lib/core/clock.h"
#include "services/connector_kit/data_source.h"
#include "services/sql_connector/connection_pool.h"
#include "services/sql_connector/dataset_map.h"
#include "services/sql_connector/keyed_hasher.h"
#include "services/sql_connector/subject_sql.h"
#include "services/sql_connector/task_ledger.h"

namespace dsar::sql_connector {

class SqlDataSource final : public connector_kit::DataSource {
 public:
  // Nothing is owned; all must outlive this. `hasher` may be null when the
  // plan uses no keyed hash.
  SqlDataSource(const DatasetPlan* plan, ConnectionPool* pool, const KeyedHasher* hasher,
                Clock* clock, std::string version);

  // Opens the database, checks the map against its catalogue and creates the
  // connector's own tables: the start-up check of dsar-sql-connector.
  // INVALID_ARGUMENT (file:line) for a map that does not fit, UNAVAILABLE
  // when the database cannot be reached.
  static absl::StatusOr<DatasetPlan> PlanFor(const ParsedMap& map, ConnectionPool& pool);
  absl::Status CreateOwnTables();

  absl::StatusOr<connector::v1::DescribeResponse> Describe() override;
  absl::StatusOr<std::unique_ptr<connector_kit::ExportStream>> StartExport(
      const connector::v1::ExportSubjectDataRequest& request) override;
  absl::StatusOr<connector::v1::EraseSubjectDataResponse> Erase(
      const connector::v1::EraseSubjectDataRequest& request) override;
  absl::StatusOr<connector::v1::ApplyConsentChangeResponse> ApplyConsent(
      const connector::v1::ApplyConsentChangeRequest& request) override;
  absl::StatusOr<connector::v1::ListEndedRelationshipsResponse> ListEnded(
      const connector::v1::ListEndedRelationshipsRequest& request) override;

  // Used by the export stream.
  const SubjectSql& sql() const { return sql_; }
  ConnectionPool& pool() const { return *pool_; }
  // Every identifier under which the database knows the subject (from the
  // identity columns of its rows); empty when nothing matched.
  absl::StatusOr<std::vector<connector::v1::SubjectIdentifier>> Resolve(
      SqlConnection& c, const SubjectValues& subject) const;

 private:
  // The subject's rows of one table with identities, read once per erasure:
  // each row is the key, the identity columns, the legal hold flag (when
  // mapped) and the keyed-hash columns from `hash_offset` on.
  struct IdentityRows {
    std::vector<Row> rows;
    int hold = -1;
    size_t hash_offset = 1;
  };
  using SubjectRows = std::map<int, IdentityRows>;
  absl::StatusOr<SubjectRows> ReadSubjectRows(SqlConnection& c, const SubjectValues& subject) const;
  absl::Status EraseIn(SqlConnection& c, const std::string& tenant, const SubjectValues& subject,
                       const SubjectRows& rows, connector::v1::EraseSubjectDataResponse& out);
  absl::Status KeepAll(SqlConnection& c, const SubjectValues& subject,
                       connector::v1::EraseSubjectDataResponse& out);
  // Applies table `t`'s column erasures to the subject's rows;
  // `prefetched`: the table's rows when it has identities (else null).
  absl::Status Anonymise(SqlConnection& c, int t, const std::string& tenant,
                         const SubjectValues& subject, const IdentityRows* prefetched,
                         connector::v1::EraseSubjectDataResponse& out);
  // "col = NULL, col2 = $n, ..." for `table`; `row` holds the hashed
  // columns' values from `hash_offset` on (null when the table hashes
  // nothing).
  absl::StatusOr<std::string> SetClause(const config::v1::DatasetTable& table,
                                        const std::string& tenant, const Row* row,
                                        size_t hash_offset, Params& params) const;

  const DatasetPlan* const plan_;
  ConnectionPool* const pool_;
  const KeyedHasher* const hasher_;
  Clock* const clock_;
  const std::string version_;
  const SubjectSql sql_;
  const TaskLedger ledger_;
};

// The subject's identifiers as map identity types; INVALID_ARGUMENT when
// none is usable.
absl::StatusOr<SubjectValues> ToSubjectValues(const connector::v1::SubjectIdentity& subject);

}  // namespace dsar::sql_connector

#endif  // DSAR_SERVICES_SQL_CONNECTOR_SQL_DATA_SOURCE_H_
