#include "services/sql_connector/sql_data_source.h"

#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/core/status_macros.h"

namespace dsar::sql_connector {

namespace {

using connector::v1::EraseSubjectDataResponse;
using connector::v1::SubjectIdentifier;

config::v1::IdentityType ToIdentityType(connector::v1::IdentifierType t) {
  switch (t) {
    case connector::v1::IDENTIFIER_TYPE_EMAIL:
      return config::v1::IDENTITY_TYPE_EMAIL;
    case connector::v1::IDENTIFIER_TYPE_CUSTOMER_ID:
      return config::v1::IDENTITY_TYPE_CUSTOMER_ID;
    case connector::v1::IDENTIFIER_TYPE_PHONE:
      return config::v1::IDENTITY_TYPE_PHONE;
    default:
      return config::v1::IDENTITY_TYPE_UNSPECIFIED;
  }
}

connector::v1::IdentifierType ToIdentifierType(config::v1::IdentityType t) {
  switch (t) {
    case config::v1::IDENTITY_TYPE_EMAIL:
      return connector::v1::IDENTIFIER_TYPE_EMAIL;
    case config::v1::IDENTITY_TYPE_CUSTOMER_ID:
      return connector::v1::IDENTIFIER_TYPE_CUSTOMER_ID;
    case config::v1::IDENTITY_TYPE_PHONE:
      return connector::v1::IDENTIFIER_TYPE_PHONE;
    default:
      return connector::v1::IDENTIFIER_TYPE_UNSPECIFIED;
  }
}

connector::v1::KeepReason ToKeepReason(config::v1::KeptReason r) {
  switch (r) {
    case config::v1::KEPT_REASON_LEGAL_OBLIGATION:
      return connector::v1::KEEP_REASON_LEGAL_OBLIGATION;
    case config::v1::KEPT_REASON_LEGAL_CLAIMS:
      return connector::v1::KEEP_REASON_LEGAL_CLAIMS;
    default:
      return connector::v1::KEEP_REASON_UNSPECIFIED;
  }
}

nlohmann::json ToJson(const Value& v) {
  switch (v.kind) {
    case ValueKind::kNull:
      return nullptr;
    case ValueKind::kBool:
      return v.text == "true";
    case ValueKind::kInteger: {
      int64_t n;
      if (absl::SimpleAtoi(v.text, &n)) return n;
      return v.text;
    }
    case ValueKind::kReal: {
      double d;
      if (absl::SimpleAtod(v.text, &d)) return d;
      return v.text;
    }
    case ValueKind::kText:
      return v.text;
  }
  return v.text;
}

// A transaction on one connection, rolled back unless committed.
class Transaction {
 public:
  Transaction(SqlConnection& c, const SqlEngine& engine) : c_(c), engine_(engine) {}
  ~Transaction() {
    if (open_) c_.Execute("ROLLBACK").IgnoreError();
  }
  absl::Status Begin() {
    RETURN_IF_ERROR(c_.Execute(engine_.BeginWrite()));
    open_ = true;
    return absl::OkStatus();
  }
  absl::Status Commit() {
    open_ = false;
    return c_.Execute("COMMIT");
  }
  void Rollback() {
    if (open_) c_.Execute("ROLLBACK").IgnoreError();
    open_ = false;
  }

 private:
  SqlConnection& c_;
  const SqlEngine& engine_;
  bool open_ = false;
};

int64_t MicrosOf(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

// The subject's rows, table by table (parents first), one page per batch.
class SqlExport final : public connector_kit::ExportStream {
 public:
  SqlExport(const SqlDataSource* source, SubjectValues subject,
            std::vector<SubjectIdentifier> resolved)
      : source_(source), subject_(std::move(subject)), resolved_(std::move(resolved)) {
    // Nothing matched: no rows to look for.
    if (resolved_.empty()) position_ = source_->sql().plan().parents_first.size();
  }

  absl::StatusOr<bool> Next(int max_records,
                            connector::v1::ExportSubjectDataResponse& out) override {
    const DatasetPlan& plan = source_->sql().plan();
    if (position_ >= plan.parents_first.size()) return false;
    ASSIGN_OR_RETURN(ConnectionPool::Lease c, source_->pool().Acquire());
    while (position_ < plan.parents_first.size() && out.records_size() < max_records) {
      const int t = plan.parents_first[position_];
      const config::v1::DatasetTable& table = plan.table(t);
      const int want = max_records - out.records_size();
      Params params;
      const std::string sql = source_->sql().SelectPage(t, subject_, after_, want, params);
      int got = 0;
      RETURN_IF_ERROR(c->Query(sql, params, [&](const Row& row) {
        ++got;
        after_ = row[0].text;
        nlohmann::json fields = nlohmann::json::object();
        for (int k = 0; k < table.columns_size(); ++k) {
          fields[table.columns(k).name()] = ToJson(row[k + 1]);
        }
        auto* record = out.add_records();
        record->set_record_id(absl::StrCat(table.name(), "/", row[0].text));
        record->set_system(plan.map.system());
        record->set_category(table.category());
        record->set_json(fields.dump());
      }));
      if (got < want) {
        ++position_;
        after_.reset();
      }
    }
    for (auto& id : resolved_) *out.add_resolved_identifiers() = std::move(id);
    resolved_.clear();
    return out.records_size() > 0;
  }

 private:
  const SqlDataSource* const source_;
  const SubjectValues subject_;
  std::vector<SubjectIdentifier> resolved_;
  size_t position_ = 0;
  Param after_;
};

}  // namespace

absl::StatusOr<SubjectValues> ToSubjectValues(const connector::v1::SubjectIdentity& subject) {
  SubjectValues out;
  for (const auto& id : subject.identifiers()) {
    const config::v1::IdentityType type = ToIdentityType(id.type());
    if (type == config::v1::IDENTITY_TYPE_UNSPECIFIED || id.value().empty()) continue;
    out.values.emplace_back(type, id.value());
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("subject: no identifier of a known type with a value");
  }
  return out;
}

SqlDataSource::SqlDataSource(const DatasetPlan* plan, ConnectionPool* pool,
                             const KeyedHasher* hasher, Clock* clock, std::string version)
    : plan_(plan),
      pool_(pool),
      hasher_(hasher),
      clock_(clock),
      version_(std::move(version)),
      sql_(plan, &pool->engine()),
      ledger_(&pool->engine(), plan->state_table) {}

absl::StatusOr<DatasetPlan> SqlDataSource::PlanFor(const ParsedMap& map, ConnectionPool& pool) {
  ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool.Acquire());
  ASSIGN_OR_RETURN(Catalogue catalogue, c->ReadCatalogue());
  return map.Plan(catalogue);
}

absl::Status SqlDataSource::CreateOwnTables() {
  ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool_->Acquire());
  return ledger_.CreateTables(*c);
}

absl::StatusOr<connector::v1::DescribeResponse> SqlDataSource::Describe() {
  const config::v1::DatasetMap& m = plan_->map;
  connector::v1::DescribeResponse out;
  out.set_system(m.system());
  out.set_display_name(m.display_name());
  for (const auto& c : m.categories()) {
    auto* category = out.add_categories();
    category->set_name(c.name());
    category->set_description(c.description());
    category->set_retention(c.retention());
  }
  for (const auto& p : m.purposes()) out.add_purposes(p);
  out.set_country(m.country());
  out.set_processor(m.processor());
  for (const auto& s : m.sub_processors()) {
    auto* sub = out.add_sub_processors();
    sub->set_name(s.name());
    sub->set_country(s.country());
    sub->set_service(s.service());
  }
  out.add_operations(connector::v1::OPERATION_EXPORT);
  out.add_operations(connector::v1::OPERATION_ERASE);
  if (m.consents_size() > 0) out.add_operations(connector::v1::OPERATION_CONSENT);
  if (m.has_ended_relationships()) {
    out.add_operations(connector::v1::OPERATION_ENDED_RELATIONSHIPS);
  }
  out.set_version(version_);
  return out;
}

absl::StatusOr<std::vector<SubjectIdentifier>> SqlDataSource::Resolve(
    SqlConnection& c, const SubjectValues& subject) const {
  std::vector<SubjectIdentifier> out;
  std::set<std::pair<int, std::string>> seen;
  for (int t = 0; t < plan_->map.tables_size(); ++t) {
    const config::v1::DatasetTable& table = plan_->table(t);
    if (table.identities_size() == 0) continue;
    std::vector<std::string> columns;
    for (const auto& id : table.identities()) columns.push_back(id.column());
    Params params;
    const std::string sql = sql_.SelectColumns(t, columns, subject, params);
    RETURN_IF_ERROR(c.Query(sql, params, [&](const Row& row) {
      for (int k = 0; k < table.identities_size(); ++k) {
        const Value& v = row[k + 1];
        if (v.is_null() || v.text.empty()) continue;
        const auto type = ToIdentifierType(table.identities(k).type());
        if (!seen.emplace(type, v.text).second) continue;
        auto& id = out.emplace_back();
        id.set_type(type);
        id.set_value(v.text);
      }
    }));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<connector_kit::ExportStream>> SqlDataSource::StartExport(
    const connector::v1::ExportSubjectDataRequest& request) {
  ASSIGN_OR_RETURN(SubjectValues subject, ToSubjectValues(request.subject()));
  ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool_->Acquire());
  ASSIGN_OR_RETURN(std::vector<SubjectIdentifier> resolved, Resolve(*c, subject));
  return std::make_unique<SqlExport>(this, std::move(subject), std::move(resolved));
}

absl::StatusOr<EraseSubjectDataResponse> SqlDataSource::Erase(
    const connector::v1::EraseSubjectDataRequest& request) {
  if (request.task_id().empty()) return absl::InvalidArgumentError("task_id is required");
  ASSIGN_OR_RETURN(SubjectValues subject, ToSubjectValues(request.subject()));
  ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool_->Acquire());
  Transaction txn(*c, pool_->engine());
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(std::optional<std::string> stored, ledger_.Find(*c, request.task_id()));
  EraseSubjectDataResponse out;
  if (stored.has_value()) {
    txn.Rollback();
    if (!out.ParseFromString(*stored)) return absl::InternalError("stored response is corrupt");
    out.set_replayed(true);
    return out;
  }
  out.set_state(connector::v1::OPERATION_STATE_DONE);
  ASSIGN_OR_RETURN(SubjectRows rows, ReadSubjectRows(*c, subject));
  std::set<std::pair<int, std::string>> seen;
  bool found = false;
  for (const auto& [t, read] : rows) {
    const config::v1::DatasetTable& table = plan_->table(t);
    for (const Row& row : read.rows) {
      found = true;
      for (int k = 0; k < table.identities_size(); ++k) {
        const Value& v = row[k + 1];
        if (v.is_null() || v.text.empty()) continue;
        const auto type = ToIdentifierType(table.identities(k).type());
        if (!seen.emplace(type, v.text).second) continue;
        auto* id = out.add_resolved_identifiers();
        id->set_type(type);
        id->set_value(v.text);
      }
    }
  }
  if (found) RETURN_IF_ERROR(EraseIn(*c, request.tenant(), subject, rows, out));
  RETURN_IF_ERROR(ledger_.Record(*c, request.task_id(), "erase", out.SerializeAsString(),
                                 absl::ToUnixMicros(clock_->Now())));
  RETURN_IF_ERROR(txn.Commit());
  return out;
}

absl::Status SqlDataSource::KeepAll(SqlConnection& c, const SubjectValues& subject,
                                    EraseSubjectDataResponse& out) {
  for (int t : plan_->parents_first) {
    const config::v1::DatasetTable& table = plan_->table(t);
    Params params;
    RETURN_IF_ERROR(c.Query(sql_.SelectColumns(t, {}, subject, params), params, [&](const Row& r) {
      auto* kept = out.add_kept_records();
      kept->set_record_id(absl::StrCat(table.name(), "/", r[0].text));
      kept->set_category(table.category());
      kept->set_reason(connector::v1::KEEP_REASON_LEGAL_HOLD);
      kept->set_detail("legal hold");
    }));
  }
  return absl::OkStatus();
}

absl::StatusOr<SqlDataSource::SubjectRows> SqlDataSource::ReadSubjectRows(
    SqlConnection& c, const SubjectValues& subject) const {
  SubjectRows out;
  for (int t = 0; t < plan_->map.tables_size(); ++t) {
    const config::v1::DatasetTable& table = plan_->table(t);
    if (table.identities_size() == 0) continue;
    IdentityRows& read = out[t];
    std::vector<std::string> columns;
    for (const auto& id : table.identities()) columns.push_back(id.column());
    if (!table.legal_hold_column().empty()) {
      read.hold = static_cast<int>(columns.size()) + 1;
      columns.push_back(table.legal_hold_column());
    }
    read.hash_offset = columns.size() + 1;
    for (const auto& col : table.columns()) {
      if (col.erasure() == config::v1::COLUMN_ERASURE_KEYED_HASH) columns.push_back(col.name());
    }
    Params params;
    RETURN_IF_ERROR(c.Query(sql_.SelectColumns(t, columns, subject, params), params,
                            [&](const Row& r) { read.rows.push_back(r); }));
  }
  return out;
}

absl::Status SqlDataSource::EraseIn(SqlConnection& c, const std::string& tenant,
                                    const SubjectValues& subject, const SubjectRows& rows,
                                    EraseSubjectDataResponse& out) {
  // A legal hold on any of the subject's rows keeps everything.
  for (const auto& [t, read] : rows) {
    if (read.hold < 0) continue;
    for (const Row& row : read.rows) {
      if (row[read.hold].text == "true") return KeepAll(c, subject, out);
    }
  }
  for (int t : plan_->children_first) {
    const config::v1::DatasetTable& table = plan_->table(t);
    switch (table.erasure()) {
      case config::v1::TABLE_ERASURE_DELETE_ROW: {
        Params params;
        const std::string sql = absl::StrCat("DELETE FROM ", sql_.Q(table.name()), " WHERE ",
                                             sql_.Match(t, subject, params));
        ASSIGN_OR_RETURN(int64_t n, c.Update(sql, params));
        out.set_deleted_count(out.deleted_count() + n);
        break;
      }
      case config::v1::TABLE_ERASURE_KEEP: {
        Params params;
        RETURN_IF_ERROR(
            c.Query(sql_.SelectColumns(t, {}, subject, params), params, [&](const Row& r) {
              auto* kept = out.add_kept_records();
              kept->set_record_id(absl::StrCat(table.name(), "/", r[0].text));
              kept->set_category(table.category());
              kept->set_reason(ToKeepReason(table.kept_reason()));
              kept->set_detail(table.kept_detail());
            }));
        break;
      }
      case config::v1::TABLE_ERASURE_ANONYMISE: {
        auto prefetched = rows.find(t);
        RETURN_IF_ERROR(Anonymise(c, t, tenant, subject,
                                  prefetched == rows.end() ? nullptr : &prefetched->second, out));
        break;
      }
      default:
        return absl::FailedPreconditionError("table without erasure");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SqlDataSource::SetClause(const config::v1::DatasetTable& table,
                                                     const std::string& tenant, const Row* row,
                                                     size_t hash_offset, Params& params) const {
  std::vector<std::string> sets;
  size_t h = 0;
  for (const auto& col : table.columns()) {
    switch (col.erasure()) {
      case config::v1::COLUMN_ERASURE_SET_NULL:
        sets.push_back(absl::StrCat(sql_.Q(col.name()), " = NULL"));
        break;
      case config::v1::COLUMN_ERASURE_MASK:
        sets.push_back(absl::StrCat(sql_.Q(col.name()), " = ",
                                    sql_.Bind(params, col.mask().empty() ? "***" : col.mask())));
        break;
      case config::v1::COLUMN_ERASURE_KEYED_HASH: {
        const Value& v = (*row)[hash_offset + h++];
        Param replacement;
        if (!v.is_null()) {
          if (hasher_ == nullptr) {
            return absl::FailedPreconditionError("the map hashes but no hash key is set");
          }
          replacement = hasher_->Hash(tenant, v.text);
        }
        sets.push_back(absl::StrCat(sql_.Q(col.name()), " = ", sql_.Bind(params, replacement)));
        break;
      }
      default:
        break;
    }
  }
  return absl::StrJoin(sets, ", ");
}

absl::Status SqlDataSource::Anonymise(SqlConnection& c, int t, const std::string& tenant,
                                      const SubjectValues& subject, const IdentityRows* prefetched,
                                      EraseSubjectDataResponse& out) {
  const config::v1::DatasetTable& table = plan_->table(t);
  std::vector<std::string> hashed;
  for (const auto& col : table.columns()) {
    if (col.erasure() == config::v1::COLUMN_ERASURE_KEYED_HASH) hashed.push_back(col.name());
  }
  if (hashed.empty() && table.identities_size() == 0) {
    // No value differs per row and no row is marked erased: one statement.
    Params params;
    ASSIGN_OR_RETURN(std::string sets, SetClause(table, tenant, nullptr, 0, params));
    if (sets.empty()) {
      RETURN_IF_ERROR(c.Query(absl::StrCat("SELECT COUNT(*) FROM ", sql_.Q(table.name()), " WHERE ",
                                           sql_.Match(t, subject, params)),
                              params, [&](const Row& r) {
                                int64_t n = 0;
                                (void)absl::SimpleAtoi(r[0].text, &n);
                                out.set_anonymised_count(out.anonymised_count() + n);
                              }));
      return absl::OkStatus();
    }
    const std::string sql = absl::StrCat("UPDATE ", sql_.Q(table.name()), " SET ", sets, " WHERE ",
                                         sql_.Match(t, subject, params));
    ASSIGN_OR_RETURN(int64_t n, c.Update(sql, params));
    out.set_anonymised_count(out.anonymised_count() + n);
    return absl::OkStatus();
  }
  // Rows first (their keys, and the values to hash), then one update per
  // row: a keyed hash differs per value.
  std::vector<Row> selected;
  size_t hash_offset = 1;
  if (prefetched == nullptr) {
    Params select_params;
    RETURN_IF_ERROR(c.Query(sql_.SelectColumns(t, hashed, subject, select_params), select_params,
                            [&](const Row& r) { selected.push_back(r); }));
  } else {
    hash_offset = prefetched->hash_offset;
  }
  const std::vector<Row>& rows = prefetched == nullptr ? selected : prefetched->rows;
  for (const Row& row : rows) {
    Params params;
    ASSIGN_OR_RETURN(std::string sets, SetClause(table, tenant, &row, hash_offset, params));
    if (!sets.empty()) {
      const std::string sql =
          absl::StrCat("UPDATE ", sql_.Q(table.name()), " SET ", sets, " WHERE ",
                       sql_.Q(table.primary_key()), " = ", sql_.Bind(params, row[0].text));
      RETURN_IF_ERROR(c.Update(sql, params).status());
    }
    if (table.identities_size() > 0) {
      RETURN_IF_ERROR(ledger_.MarkErased(c, table.name(), row[0].text));
    }
  }
  out.set_anonymised_count(out.anonymised_count() + static_cast<int64_t>(rows.size()));
  return absl::OkStatus();
}

absl::StatusOr<connector::v1::ApplyConsentChangeResponse> SqlDataSource::ApplyConsent(
    const connector::v1::ApplyConsentChangeRequest& request) {
  if (request.task_id().empty()) return absl::InvalidArgumentError("task_id is required");
  if (request.action() != connector::v1::CONSENT_ACTION_GIVEN &&
      request.action() != connector::v1::CONSENT_ACTION_WITHDRAWN) {
    return absl::InvalidArgumentError("action must be GIVEN or WITHDRAWN");
  }
  ASSIGN_OR_RETURN(SubjectValues subject, ToSubjectValues(request.subject()));
  ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool_->Acquire());
  Transaction txn(*c, pool_->engine());
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(std::optional<std::string> stored, ledger_.Find(*c, request.task_id()));
  connector::v1::ApplyConsentChangeResponse out;
  if (stored.has_value()) {
    txn.Rollback();
    if (!out.ParseFromString(*stored)) return absl::InternalError("stored response is corrupt");
    out.set_replayed(true);
    return out;
  }
  out.set_state(connector::v1::OPERATION_STATE_DONE);
  ASSIGN_OR_RETURN(std::vector<SubjectIdentifier> resolved, Resolve(*c, subject));
  if (resolved.empty()) {
    out.set_no_matching_record(true);
  } else {
    const int64_t change_us = MicrosOf(request.change_time());
    const bool given = request.action() == connector::v1::CONSENT_ACTION_GIVEN;
    for (const auto& consent : plan_->map.consents()) {
      if (consent.purpose() != request.purpose()) continue;
      const int t = plan_->index.at(consent.table());
      Params params;
      const std::string changed = sql_.Q(consent.changed_at_column());
      const std::string sql =
          absl::StrCat("UPDATE ", sql_.Q(consent.table()), " SET ", sql_.Q(consent.column()), " = ",
                       (given ? "TRUE" : "FALSE"), ", ", changed, " = ",
                       sql_.Bind(params, std::to_string(change_us)), " WHERE ",
                       sql_.Match(t, subject, params), " AND (", changed, " IS NULL OR ", changed,
                       " < ", sql_.Bind(params, std::to_string(change_us)), ")");
      ASSIGN_OR_RETURN(int64_t n, c->Update(sql, params));
      out.set_affected_count(out.affected_count() + n);
    }
  }
  RETURN_IF_ERROR(ledger_.Record(*c, request.task_id(), "consent", out.SerializeAsString(),
                                 absl::ToUnixMicros(clock_->Now())));
  RETURN_IF_ERROR(txn.Commit());
  return out;
}

absl::StatusOr<connector::v1::ListEndedRelationshipsResponse> SqlDataSource::ListEnded(
    const connector::v1::ListEndedRelationshipsRequest& request) {
  if (!plan_->map.has_ended_relationships()) {
    return absl::UnimplementedError("the dataset map names no ended relationships");
  }
  const auto& ended = plan_->map.ended_relationships();
  const int t = plan_->index.at(ended.table());
  const config::v1::DatasetTable& table = plan_->table(t);
  const int page_size =
      request.page_size() <= 0 ? 100 : std::min(request.page_size(), int32_t{1000});
  std::string after_end = "-9223372036854775807", after_key;
  bool has_after = false;
  if (!request.page_token().empty()) {
    std::vector<std::string> parts = absl::StrSplit(request.page_token(), absl::MaxSplits(':', 1));
    int64_t unused;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &unused)) {
      return absl::InvalidArgumentError("page_token is malformed");
    }
    after_end = parts[0];
    after_key = parts[1];
    has_after = true;
  }
  const std::string end_expr = pool_->engine().EpochSeconds(sql_.Q(ended.ended_at_column()));
  const std::string key = sql_.Q(table.primary_key());
  std::vector<std::string> columns = {end_expr, key};
  for (const auto& id : table.identities()) columns.push_back(sql_.Q(id.column()));
  Params params;
  std::string sql =
      absl::StrCat("SELECT ", absl::StrJoin(columns, ", "), " FROM ", sql_.Q(table.name()),
                   " WHERE ", sql_.Q(ended.ended_at_column()), " IS NOT NULL AND ", end_expr, " < ",
                   sql_.Bind(params, std::to_string(request.end_time_before().seconds())), " AND ",
                   ledger_.NotErased(table.name(), key, params));
  if (has_after) {
    const std::string e = sql_.Bind(params, after_end);
    absl::StrAppend(&sql, " AND (", end_expr, " > ", e, " OR (", end_expr, " = ",
                    sql_.Bind(params, after_end), " AND ", key, " > ", sql_.Bind(params, after_key),
                    "))");
  }
  absl::StrAppend(&sql, " ORDER BY 1, 2 LIMIT ", page_size + 1);
  connector::v1::ListEndedRelationshipsResponse out;
  ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool_->Acquire());
  std::string last_end, last_key;
  int count = 0;
  RETURN_IF_ERROR(c->Query(sql, params, [&](const Row& row) {
    if (++count > page_size) {
      out.set_next_page_token(absl::StrCat(last_end, ":", last_key));
      return;
    }
    last_end = row[0].text;
    last_key = row[1].text;
    auto* r = out.add_relationships();
    int64_t seconds = 0;
    (void)absl::SimpleAtoi(row[0].text, &seconds);
    r->mutable_end_time()->set_seconds(seconds);
    for (int k = 0; k < table.identities_size(); ++k) {
      const Value& v = row[k + 2];
      if (v.is_null() || v.text.empty()) continue;
      auto* id = r->mutable_subject()->add_identifiers();
      id->set_type(ToIdentifierType(table.identities(k).type()));
      id->set_value(v.text);
    }
  }));
  return out;
}

}  // namespace dsar::sql_connector
