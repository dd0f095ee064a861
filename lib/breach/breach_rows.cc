#include "lib/breach/breach_rows.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/breach/breach_details.h"
#include "lib/core/status_macros.h"

namespace dsar::breach::internal {
namespace {

using json = nlohmann::json;

int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromUs(int64_t us) { return absl::FromUnixMicros(us); }

std::optional<absl::Time> OptTime(SQLite::Statement& q, int col) {
  if (q.getColumn(col).isNull()) return std::nullopt;
  return FromUs(q.getColumn(col).getInt64());
}

void BindOptTime(SQLite::Statement& q, int index, const std::optional<absl::Time>& t) {
  if (t.has_value()) {
    q.bind(index, static_cast<int64_t>(Us(*t)));
  } else {
    q.bind(index);  // NULL
  }
}

const char* FirstNotifiedColumn(Recipient r) {
  switch (r) {
    case Recipient::kController:
      return "controller_notified_at_us";
    case Recipient::kSupervisoryAuthority:
      return "authority_notified_at_us";
    case Recipient::kDataSubjects:
      return "subjects_notified_at_us";
    case Recipient::kUnspecified:
      break;
  }
  return nullptr;
}

constexpr char kBreachColumns[] =
    "b.breach_id, b.tenant_id, b.state, b.processor_reported, b.current_version, b.risk, "
    "b.aware_at_us, b.reported_at_us, b.reported_by, b.updated_at_us, b.closed_at_us, "
    "b.closed_by, b.close_note";

Breach ReadBreach(SQLite::Statement& q) {
  Breach b;
  b.breach_id = q.getColumn(0).getString();
  b.owner_tenant = q.getColumn(1).getString();
  b.state = static_cast<BreachState>(q.getColumn(2).getInt());
  b.processor_reported = q.getColumn(3).getInt() != 0;
  b.current_version = q.getColumn(4).getInt();
  b.version = b.current_version;
  b.current_risk = static_cast<RiskAssessment>(q.getColumn(5).getInt());
  b.aware_at = FromUs(q.getColumn(6).getInt64());
  b.reported_at = FromUs(q.getColumn(7).getInt64());
  b.reported_by = q.getColumn(8).getString();
  b.version_recorded_at = FromUs(q.getColumn(9).getInt64());
  b.closed_at = OptTime(q, 10);
  b.closed_by = q.getColumn(11).getString();
  b.close_note = q.getColumn(12).getString();
  return b;
}

template <typename Txn>
absl::StatusOr<BreachVersion> ReadVersionRow(SQLite::Statement& q) {
  BreachVersion v;
  v.version = q.getColumn(0).getInt();
  ASSIGN_OR_RETURN(v.details, DetailsFromJson(q.getColumn(1).getString()));
  const std::string changed = q.getColumn(2).getString();
  if (!changed.empty()) v.changed_fields = absl::StrSplit(changed, ',');
  v.change_note = q.getColumn(3).getString();
  v.author = q.getColumn(4).getString();
  v.recorded_at = FromUs(q.getColumn(5).getInt64());
  return v;
}

Notification ReadNotification(SQLite::Statement& q) {
  Notification n;
  n.tenant = q.getColumn(0).getString();
  n.breach_id = q.getColumn(1).getString();
  n.notification_id = q.getColumn(2).getString();
  n.recipient = static_cast<Recipient>(q.getColumn(3).getInt());
  n.notified_at = FromUs(q.getColumn(4).getInt64());
  n.channel = q.getColumn(5).getString();
  n.reference = q.getColumn(6).getString();
  n.content_version = q.getColumn(7).getInt();
  n.delay_reason = q.getColumn(8).getString();
  n.late = q.getColumn(9).getInt() != 0;
  n.recorded_by = q.getColumn(10).getString();
  n.recorded_at = FromUs(q.getColumn(11).getInt64());
  return n;
}

constexpr char kNotificationColumns[] =
    "tenant_id, breach_id, notification_id, recipient, notified_at_us, channel, reference, "
    "content_version, delay_reason, late, recorded_by, recorded_at_us";

}  // namespace

namespace {

// A stored version's JSON value of each member type (keys: DetailField::stored_key).
json Stored(const std::string& v) { return v; }
json Stored(const std::vector<std::string>& v) { return v; }
json Stored(const std::vector<BreachType>& v) {
  json out = json::array();
  for (BreachType t : v) out.push_back(static_cast<int>(t));
  return out;
}
json Stored(const std::optional<absl::Time>& v) { return v ? json(Us(*v)) : json(nullptr); }
json Stored(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json Stored(RiskAssessment v) { return static_cast<int>(v); }
json Stored(SubjectDecision v) { return static_cast<int>(v); }

// The reverse; throws json::exception on a shape it does not expect.
void Load(const json& j, std::string* out) { *out = j.get<std::string>(); }
void Load(const json& j, std::vector<std::string>* out) {
  *out = j.get<std::vector<std::string>>();
}
void Load(const json& j, std::vector<BreachType>* out) {
  for (const auto& t : j) out->push_back(static_cast<BreachType>(t.get<int>()));
}
void Load(const json& j, std::optional<absl::Time>* out) {
  if (!j.is_null()) *out = FromUs(j.get<int64_t>());
}
void Load(const json& j, std::optional<int64_t>* out) {
  if (!j.is_null()) *out = j.get<int64_t>();
}
void Load(const json& j, RiskAssessment* out) { *out = static_cast<RiskAssessment>(j.get<int>()); }
void Load(const json& j, SubjectDecision* out) {
  *out = static_cast<SubjectDecision>(j.get<int>());
}

}  // namespace

std::string DetailsToJson(const BreachDetails& d) {
  json j = json::object();
  ForEachDetailField(
      [&](const DetailField& f, auto member) { j[f.stored_key] = Stored(d.*member); });
  return j.dump();
}

absl::StatusOr<BreachDetails> DetailsFromJson(absl::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InternalError("stored breach version is not valid JSON");
  try {
    BreachDetails d;
    ForEachDetailField(
        [&](const DetailField& f, auto member) { Load(j.at(f.stored_key), &(d.*member)); });
    return d;
  } catch (const json::exception&) {
    return absl::InternalError("stored breach version has an unexpected shape");
  }
}

template <typename Txn>
std::optional<Breach> LoadBreachRow(Txn& txn, absl::string_view breach_id, const Scope& scope) {
  // Two statements rather than one with an OR, so each uses its index.
  SQLite::Statement& q =
      scope.all_tenants ? txn.Prepare(absl::StrCat("SELECT ", kBreachColumns,
                                                   " FROM breaches b WHERE b.breach_id = ?1"))
                        : txn.Prepare(absl::StrCat(
                              "SELECT ", kBreachColumns,
                              " FROM breach_tenants t JOIN breaches b ON b.breach_id = t.breach_id "
                              "WHERE t.tenant_id = ?2 AND t.breach_id = ?1"));
  q.bind(1, std::string(breach_id));
  if (!scope.all_tenants) q.bind(2, scope.tenant);
  if (!q.executeStep()) return std::nullopt;
  Breach b = ReadBreach(q);
  q.reset();
  return b;
}

template <typename Txn>
std::vector<AffectedTenant> LoadAffected(Txn& txn, const Breach& row, const Scope& scope,
                                         absl::Time now) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT tenant_id, aware_at_us, due_at_us, deadline_id, controller_notified_at_us, "
      "authority_notified_at_us, subjects_notified_at_us, authority_start_at_us, "
      "authority_due_at_us, authority_deadline_id, authority_exempt_at_us, "
      "subjects_start_at_us, subjects_due_at_us, subjects_deadline_id, subjects_exempt_at_us "
      "FROM breach_tenants "
      "WHERE breach_id = ?1 AND (?2 = '' OR tenant_id = ?2) ORDER BY tenant_id");
  q.bind(1, row.breach_id);
  q.bind(2, scope.filter());
  std::vector<AffectedTenant> out;
  while (q.executeStep()) {
    AffectedTenant t;
    t.tenant = q.getColumn(0).getString();
    t.aware_at = FromUs(q.getColumn(1).getInt64());
    t.due_at = FromUs(q.getColumn(2).getInt64());
    t.deadline_id = q.getColumn(3).getString();
    t.controller_notified_at = OptTime(q, 4);
    t.authority_notified_at = OptTime(q, 5);
    t.subjects_notified_at = OptTime(q, 6);
    t.authority.start_at = OptTime(q, 7);
    t.authority.due_at = OptTime(q, 8);
    t.authority.deadline_id = q.getColumn(9).getString();
    t.authority.exempt_at = OptTime(q, 10);
    t.subjects.start_at = OptTime(q, 11);
    t.subjects.due_at = OptTime(q, 12);
    t.subjects.deadline_id = q.getColumn(13).getString();
    t.subjects.exempt_at = OptTime(q, 14);
    t.overdue = NotificationOverdue(row, t, now);
    out.push_back(std::move(t));
  }
  return out;
}

template <typename Txn>
absl::StatusOr<std::vector<BreachVersion>> LoadVersions(Txn& txn, const Breach& row, int up_to) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT version, details, changed_fields, change_note, author, recorded_at_us "
      "FROM breach_versions WHERE tenant_id = ? AND breach_id = ? AND version <= ? "
      "ORDER BY version");
  q.bind(1, row.owner_tenant);
  q.bind(2, row.breach_id);
  q.bind(3, up_to);
  std::vector<BreachVersion> out;
  while (q.executeStep()) {
    ASSIGN_OR_RETURN(BreachVersion v, ReadVersionRow<Txn>(q));
    out.push_back(std::move(v));
  }
  return out;
}

template <typename Txn>
absl::StatusOr<BreachVersion> LoadVersion(Txn& txn, const Breach& row, int version) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT version, details, changed_fields, change_note, author, recorded_at_us "
      "FROM breach_versions WHERE tenant_id = ? AND breach_id = ? AND version = ?");
  q.bind(1, row.owner_tenant);
  q.bind(2, row.breach_id);
  q.bind(3, version);
  if (!q.executeStep()) {
    return absl::InternalError(absl::StrCat("breach ", row.breach_id, " has no version ", version));
  }
  auto v = ReadVersionRow<Txn>(q);
  q.reset();
  return v;
}

template <typename Txn>
std::vector<Notification> LoadNotifications(Txn& txn, absl::string_view breach_id,
                                            const Scope& scope) {
  SQLite::Statement& q =
      txn.Prepare(absl::StrCat("SELECT ", kNotificationColumns,
                               " FROM breach_notifications WHERE breach_id = ?1 AND "
                               "(?2 = '' OR tenant_id = ?2) ORDER BY seq"));
  q.bind(1, std::string(breach_id));
  q.bind(2, scope.filter());
  std::vector<Notification> out;
  while (q.executeStep()) out.push_back(ReadNotification(q));
  return out;
}

template <typename Txn>
std::optional<Notification> LoadNotification(Txn& txn, absl::string_view breach_id,
                                             absl::string_view notification_id,
                                             const Scope& scope) {
  SQLite::Statement& q =
      txn.Prepare(absl::StrCat("SELECT ", kNotificationColumns,
                               " FROM breach_notifications WHERE notification_id = ?1 AND "
                               "breach_id = ?2 AND (?3 = '' OR tenant_id = ?3)"));
  q.bind(1, std::string(notification_id));
  q.bind(2, std::string(breach_id));
  q.bind(3, scope.filter());
  if (!q.executeStep()) return std::nullopt;
  Notification n = ReadNotification(q);
  q.reset();
  return n;
}

int64_t CountNotifications(store::WriteTxn& txn, absl::string_view breach_id) {
  SQLite::Statement& q =
      txn.Prepare("SELECT count(*) FROM breach_notifications WHERE breach_id = ?");
  q.bind(1, std::string(breach_id));
  q.executeStep();
  int64_t n = q.getColumn(0).getInt64();
  q.reset();
  return n;
}

template <typename Txn>
absl::StatusOr<Breach> LoadView(Txn& txn, absl::string_view breach_id, const Scope& scope,
                                const ViewOptions& options, absl::Time now) {
  std::optional<Breach> row = LoadBreachRow(txn, breach_id, scope);
  if (!row.has_value()) {
    return absl::NotFoundError(absl::StrCat(kBreachesCollection, breach_id, " not found"));
  }
  Breach b = std::move(*row);
  b.version = options.as_of_version > 0 && options.as_of_version <= b.current_version
                  ? options.as_of_version
                  : b.current_version;
  ASSIGN_OR_RETURN(BreachVersion v, LoadVersion(txn, b, b.version));
  b.details = std::move(v.details);
  b.version_recorded_at = v.recorded_at;
  b.affected_tenants = LoadAffected(txn, b, scope, now);
  for (const auto& t : b.affected_tenants) b.notification_overdue |= t.overdue;
  if (options.full) {
    ASSIGN_OR_RETURN(b.versions, LoadVersions(txn, b, b.version));
    b.notifications = LoadNotifications(txn, b.breach_id, scope);
  }
  return b;
}

std::vector<std::pair<int64_t, std::string>> ListBreachIds(store::ReadTxn& txn,
                                                           const ListFilter& filter,
                                                           int64_t before_seq, int limit,
                                                           absl::Time now) {
  // Overdue: open, past a tenant's due time, and the controller notification
  // (processor-reported breaches) or the authority notification (unless the
  // risk is none) missing for that tenant. Mirrors NotificationOverdue().
  constexpr char kOverdue[] =
      "((t.due_at_us <= ?4 AND b.processor_reported = 1 AND t.controller_notified_at_us IS NULL) "
      "OR (b.risk <> 1 AND t.authority_notified_at_us IS NULL AND t.authority_exempt_at_us IS "
      "NULL AND t.authority_due_at_us <= ?4) "
      "OR (b.risk = 3 AND t.subjects_notified_at_us IS NULL AND t.subjects_exempt_at_us IS NULL "
      "AND t.subjects_due_at_us <= ?4))";
  SQLite::Statement& q =
      filter.tenant.empty()
          ? txn.Prepare(
                absl::StrCat("SELECT b.seq, b.breach_id FROM breaches b WHERE b.seq < ?1 "
                             "AND (?2 = 0 OR b.state = ?2) AND (?3 = 0 OR (b.state = 1 AND EXISTS ("
                             "SELECT 1 FROM breach_tenants t WHERE t.breach_id = b.breach_id AND ",
                             kOverdue, "))) ORDER BY b.seq DESC LIMIT ?5"))
          : txn.Prepare(absl::StrCat(
                "SELECT b.seq, b.breach_id FROM breach_tenants t "
                "JOIN breaches b ON b.breach_id = t.breach_id "
                "WHERE t.tenant_id = ?6 AND t.breach_seq < ?1 AND (?2 = 0 OR b.state = ?2) "
                "AND (?3 = 0 OR (b.state = 1 AND ",
                kOverdue, ")) ORDER BY t.breach_seq DESC LIMIT ?5"));
  q.bind(1, static_cast<int64_t>(before_seq));
  q.bind(2, static_cast<int>(filter.state));
  q.bind(3, filter.overdue_only ? 1 : 0);
  q.bind(4, static_cast<int64_t>(Us(now)));
  q.bind(5, limit);
  if (!filter.tenant.empty()) q.bind(6, filter.tenant);
  std::vector<std::pair<int64_t, std::string>> out;
  while (q.executeStep()) out.emplace_back(q.getColumn(0).getInt64(), q.getColumn(1).getString());
  return out;
}

int64_t InsertBreach(store::WriteTxn& txn, const Breach& b) {
  SQLite::Statement& q = txn.Prepare(
      "INSERT INTO breaches (tenant_id, breach_id, state, processor_reported, current_version, "
      "title, risk, aware_at_us, reported_at_us, reported_by, updated_at_us) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, b.owner_tenant);
  q.bind(2, b.breach_id);
  q.bind(3, static_cast<int>(b.state));
  q.bind(4, b.processor_reported ? 1 : 0);
  q.bind(5, b.current_version);
  q.bind(6, b.details.title);
  q.bind(7, static_cast<int>(b.current_risk));
  q.bind(8, static_cast<int64_t>(Us(b.aware_at)));
  q.bind(9, static_cast<int64_t>(Us(b.reported_at)));
  q.bind(10, b.reported_by);
  q.bind(11, static_cast<int64_t>(Us(b.version_recorded_at)));
  q.exec();
  return txn.db().getLastInsertRowid();
}

void InsertVersion(store::WriteTxn& txn, const Breach& b, const BreachVersion& v) {
  SQLite::Statement& q = txn.Prepare(
      "INSERT INTO breach_versions (tenant_id, breach_id, version, details, changed_fields, "
      "change_note, author, recorded_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, b.owner_tenant);
  q.bind(2, b.breach_id);
  q.bind(3, v.version);
  q.bind(4, DetailsToJson(v.details));
  q.bind(5, absl::StrJoin(v.changed_fields, ","));
  q.bind(6, v.change_note);
  q.bind(7, v.author);
  q.bind(8, static_cast<int64_t>(Us(v.recorded_at)));
  q.exec();
}

void InsertAffected(store::WriteTxn& txn, const Breach& b, int64_t breach_seq,
                    const AffectedTenant& t, absl::Time now) {
  SQLite::Statement& q = txn.Prepare(
      "INSERT INTO breach_tenants (tenant_id, breach_id, breach_seq, aware_at_us, due_at_us, "
      "deadline_id, added_at_us) VALUES (?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, t.tenant);
  q.bind(2, b.breach_id);
  q.bind(3, static_cast<int64_t>(breach_seq));
  q.bind(4, static_cast<int64_t>(Us(t.aware_at)));
  q.bind(5, static_cast<int64_t>(Us(t.due_at)));
  q.bind(6, t.deadline_id);
  q.bind(7, static_cast<int64_t>(Us(now)));
  q.exec();
}

void UpdateTenantClocks(store::WriteTxn& txn, absl::string_view breach_id,
                        const AffectedTenant& t) {
  SQLite::Statement& q = txn.Prepare(
      "UPDATE breach_tenants SET authority_start_at_us = ?, authority_due_at_us = ?, "
      "authority_deadline_id = ?, authority_exempt_at_us = ?, subjects_start_at_us = ?, "
      "subjects_due_at_us = ?, subjects_deadline_id = ?, subjects_exempt_at_us = ? "
      "WHERE tenant_id = ? AND breach_id = ?");
  BindOptTime(q, 1, t.authority.start_at);
  BindOptTime(q, 2, t.authority.due_at);
  q.bind(3, t.authority.deadline_id);
  BindOptTime(q, 4, t.authority.exempt_at);
  BindOptTime(q, 5, t.subjects.start_at);
  BindOptTime(q, 6, t.subjects.due_at);
  q.bind(7, t.subjects.deadline_id);
  BindOptTime(q, 8, t.subjects.exempt_at);
  q.bind(9, t.tenant);
  q.bind(10, std::string(breach_id));
  q.exec();
}

void UpdateBreachRow(store::WriteTxn& txn, const Breach& b) {
  SQLite::Statement& q = txn.Prepare(
      "UPDATE breaches SET state = ?, current_version = ?, title = ?, risk = ?, "
      "updated_at_us = ?, closed_at_us = ?, closed_by = ?, close_note = ? "
      "WHERE tenant_id = ? AND breach_id = ?");
  q.bind(1, static_cast<int>(b.state));
  q.bind(2, b.current_version);
  q.bind(3, b.details.title);
  q.bind(4, static_cast<int>(b.current_risk));
  q.bind(5, static_cast<int64_t>(Us(b.version_recorded_at)));
  BindOptTime(q, 6, b.closed_at);
  q.bind(7, b.closed_by);
  q.bind(8, b.close_note);
  q.bind(9, b.owner_tenant);
  q.bind(10, b.breach_id);
  q.exec();
}

int64_t BreachSeq(store::WriteTxn& txn, absl::string_view breach_id) {
  SQLite::Statement& q = txn.Prepare("SELECT seq FROM breaches WHERE breach_id = ?");
  q.bind(1, std::string(breach_id));
  int64_t seq = q.executeStep() ? q.getColumn(0).getInt64() : 0;
  q.reset();
  return seq;
}

void InsertNotification(store::WriteTxn& txn, const Notification& n) {
  SQLite::Statement& q = txn.Prepare(
      "INSERT INTO breach_notifications (tenant_id, breach_id, notification_id, recipient, "
      "notified_at_us, channel, reference, content_version, delay_reason, late, recorded_by, "
      "recorded_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, n.tenant);
  q.bind(2, n.breach_id);
  q.bind(3, n.notification_id);
  q.bind(4, static_cast<int>(n.recipient));
  q.bind(5, static_cast<int64_t>(Us(n.notified_at)));
  q.bind(6, n.channel);
  q.bind(7, n.reference);
  q.bind(8, n.content_version);
  q.bind(9, n.delay_reason);
  q.bind(10, n.late ? 1 : 0);
  q.bind(11, n.recorded_by);
  q.bind(12, static_cast<int64_t>(Us(n.recorded_at)));
  q.exec();
}

void SetFirstNotified(store::WriteTxn& txn, absl::string_view tenant, absl::string_view breach_id,
                      Recipient recipient, absl::Time at) {
  const char* column = FirstNotifiedColumn(recipient);
  if (column == nullptr) return;
  SQLite::Statement& q = txn.Prepare(absl::StrCat(
      "UPDATE breach_tenants SET ", column, " = CASE WHEN ", column, " IS NULL OR ", column,
      " > ?1 THEN ?1 ELSE ", column, " END WHERE tenant_id = ?2 AND breach_id = ?3"));
  q.bind(1, static_cast<int64_t>(Us(at)));
  q.bind(2, std::string(tenant));
  q.bind(3, std::string(breach_id));
  q.exec();
}

// Explicit instantiations for both transaction kinds.
#define DSAR_BREACH_INSTANTIATE(Txn)                                                           \
  template std::optional<Breach> LoadBreachRow(Txn&, absl::string_view, const Scope&);         \
  template std::vector<AffectedTenant> LoadAffected(Txn&, const Breach&, const Scope&,         \
                                                    absl::Time);                               \
  template absl::StatusOr<std::vector<BreachVersion>> LoadVersions(Txn&, const Breach&, int);  \
  template absl::StatusOr<BreachVersion> LoadVersion(Txn&, const Breach&, int);                \
  template std::vector<Notification> LoadNotifications(Txn&, absl::string_view, const Scope&); \
  template std::optional<Notification> LoadNotification(Txn&, absl::string_view,               \
                                                        absl::string_view, const Scope&);      \
  template absl::StatusOr<Breach> LoadView(Txn&, absl::string_view, const Scope&,              \
                                           const ViewOptions&, absl::Time);
DSAR_BREACH_INSTANTIATE(store::ReadTxn)
DSAR_BREACH_INSTANTIATE(store::WriteTxn)
#undef DSAR_BREACH_INSTANTIATE

}  // namespace dsar::breach::internal
