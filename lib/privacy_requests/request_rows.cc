#include "lib/privacy_requests/request_rows.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/delivery/delivery_rows.h"
#include "lib/privacy_requests/identifiers.h"

namespace dsar::privacy_requests::rows {
namespace {

// Set at filing, never changed.
constexpr char kFixedColumns[] =
    "tenant_id, request_id, type, source, requester_relation, requester_channel, "
    "requester_reference, identifier_types, callback_url, creator, received_at_us, "
    "created_at_us, only_systems";
// Written by every Save; bound by BindMutable in this order.
constexpr char kMutableColumns[] =
    "state, stage, needs_work, updated_at_us, closed_at_us, processor_due_at_us, "
    "gdpr_due_at_us, clock_paused, paused_total_us, verification_method, verification_note, "
    "verifier, verified_at_us, extension_count, extension_reason, subject_informed_at_us, "
    "rejection_reason, rejection_detail, cancel_reason, failure_reason, duplicate_count";
constexpr int kFixedCount = 13;
constexpr int kMutableCount = 21;

const std::string& Columns() {
  static const std::string* const columns =
      new std::string(absl::StrCat(kFixedColumns, ", ", kMutableColumns));
  return *columns;
}

// `sql` prepared with its first two parameters bound to the request's
// tenant and id, the shape of almost every statement here.
template <typename Txn>
SQLite::Statement& PrepareFor(Txn& txn, absl::string_view sql, absl::string_view tenant,
                              absl::string_view id) {
  SQLite::Statement& q = txn.Prepare(sql);
  q.bind(1, std::string(tenant));
  q.bind(2, std::string(id));
  return q;
}

std::string TypesText(const std::vector<connector::IdentifierType>& types) {
  std::vector<std::string> names;
  for (auto t : types) names.push_back(IdentifierTypeName(t));
  return absl::StrJoin(names, ",");
}

std::vector<connector::IdentifierType> ParseTypes(const std::string& text) {
  std::vector<connector::IdentifierType> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    for (auto t : {connector::IdentifierType::kEmail, connector::IdentifierType::kCustomerId,
                   connector::IdentifierType::kPhone}) {
      if (part == IdentifierTypeName(t)) out.push_back(t);
    }
  }
  return out;
}

void BindOptionalTime(SQLite::Statement& s, int index, const std::optional<absl::Time>& t) {
  if (t.has_value()) {
    s.bind(index, static_cast<int64_t>(Us(*t)));
  } else {
    s.bind(index);
  }
}

std::optional<absl::Time> OptionalTime(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return FromUs(c.getInt64());
}

PrivacyRequest ReadRequest(SQLite::Statement& q) {
  PrivacyRequest r;
  int i = 0;
  r.tenant = q.getColumn(i++).getString();
  r.id = q.getColumn(i++).getString();
  r.type = static_cast<RequestType>(q.getColumn(i++).getInt());
  r.source = static_cast<RequestSource>(q.getColumn(i++).getInt());
  r.requester.relation = static_cast<RequesterRelation>(q.getColumn(i++).getInt());
  r.requester.channel = q.getColumn(i++).getString();
  r.requester.reference = q.getColumn(i++).getString();
  r.identifier_types = ParseTypes(q.getColumn(i++).getString());
  r.callback_url = q.getColumn(i++).getString();
  r.creator = q.getColumn(i++).getString();
  r.received_at = FromUs(q.getColumn(i++).getInt64());
  r.created_at = FromUs(q.getColumn(i++).getInt64());
  r.only_systems = absl::StrSplit(q.getColumn(i++).getString(), ',', absl::SkipEmpty());
  r.state = static_cast<RequestState>(q.getColumn(i++).getInt());
  r.stage = ParseStage(q.getColumn(i++).getString());
  r.needs_work = q.getColumn(i++).getInt() != 0;
  r.updated_at = FromUs(q.getColumn(i++).getInt64());
  r.closed_at = OptionalTime(q.getColumn(i++));
  r.processor_due_at = FromUs(q.getColumn(i++).getInt64());
  r.gdpr_due_at = FromUs(q.getColumn(i++).getInt64());
  r.clock_paused = q.getColumn(i++).getInt() != 0;
  r.paused_total = absl::Microseconds(q.getColumn(i++).getInt64());
  const auto method = static_cast<VerificationMethod>(q.getColumn(i++).getInt());
  std::string note = q.getColumn(i++).getString();
  std::string verifier = q.getColumn(i++).getString();
  std::optional<absl::Time> verified_at = OptionalTime(q.getColumn(i++));
  if (method != VerificationMethod::kUnspecified) {
    r.verification = Verification{method, std::move(note), std::move(verifier),
                                  verified_at.value_or(absl::InfinitePast())};
  }
  r.extension_count = q.getColumn(i++).getInt();
  r.extension_reason = q.getColumn(i++).getString();
  r.subject_informed_at = OptionalTime(q.getColumn(i++));
  r.rejection_reason = static_cast<RejectionReason>(q.getColumn(i++).getInt());
  r.rejection_detail = q.getColumn(i++).getString();
  r.cancel_reason = q.getColumn(i++).getString();
  r.failure_reason = q.getColumn(i++).getString();
  r.duplicate_count = q.getColumn(i++).getInt();
  return r;
}

// Binds kMutableColumns from `r` starting at parameter `i`; returns the next.
int BindMutable(SQLite::Statement& q, int i, const PrivacyRequest& r) {
  q.bind(i++, static_cast<int>(r.state));
  q.bind(i++, StageName(r.stage));
  q.bind(i++, r.needs_work ? 1 : 0);
  q.bind(i++, static_cast<int64_t>(Us(r.updated_at)));
  BindOptionalTime(q, i++, r.closed_at);
  q.bind(i++, static_cast<int64_t>(Us(r.processor_due_at)));
  q.bind(i++, static_cast<int64_t>(Us(r.gdpr_due_at)));
  q.bind(i++, r.clock_paused ? 1 : 0);
  q.bind(i++, static_cast<int64_t>(absl::ToInt64Microseconds(r.paused_total)));
  q.bind(i++, r.verification ? static_cast<int>(r.verification->method) : 0);
  q.bind(i++, r.verification ? r.verification->note : std::string());
  q.bind(i++, r.verification ? r.verification->verifier : std::string());
  BindOptionalTime(
      q, i++,
      r.verification ? std::optional<absl::Time>(r.verification->verified_at) : std::nullopt);
  q.bind(i++, r.extension_count);
  q.bind(i++, r.extension_reason);
  BindOptionalTime(q, i++, r.subject_informed_at);
  q.bind(i++, static_cast<int>(r.rejection_reason));
  q.bind(i++, r.rejection_detail);
  q.bind(i++, r.cancel_reason);
  q.bind(i++, r.failure_reason);
  q.bind(i++, r.duplicate_count);
  return i;
}

// "state = ?, stage = ?, ..." over kMutableColumns.
const std::string& MutableAssignments() {
  static const std::string* const text = [] {
    std::vector<std::string> parts;
    for (absl::string_view c : absl::StrSplit(kMutableColumns, ", ")) {
      parts.push_back(absl::StrCat(c, " = ?"));
    }
    return new std::string(absl::StrJoin(parts, ", "));
  }();
  return *text;
}

std::string ResultJson(const SystemProgress& t) {
  nlohmann::json obj = nlohmann::json::object();
  if (t.records) obj["records"] = t.records;
  if (t.deleted) obj["deleted"] = t.deleted;
  if (t.anonymised) obj["anonymised"] = t.anonymised;
  if (!t.skip_reason.empty()) obj["skip_reason"] = t.skip_reason;
  if (!t.matched_types.empty()) {
    nlohmann::json matched = nlohmann::json::array();
    for (IdentifierType type : t.matched_types) matched.push_back(IdentifierTypeName(type));
    obj["matched"] = std::move(matched);
  }
  if (!t.kept.empty()) {
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& k : t.kept) {
      kept.push_back({{"record_id", k.record_id},
                      {"category", k.category},
                      {"reason", k.reason},
                      {"detail", k.detail}});
    }
    obj["kept"] = std::move(kept);
  }
  return obj.empty() ? "" : obj.dump();
}

void ReadResult(const std::string& json, SystemProgress& t) {
  if (json.empty()) return;
  auto obj = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!obj.is_object()) return;
  t.records = obj.value("records", int64_t{0});
  t.deleted = obj.value("deleted", int64_t{0});
  t.anonymised = obj.value("anonymised", int64_t{0});
  if (auto matched = obj.find("matched"); matched != obj.end() && matched->is_array()) {
    for (const auto& name : *matched) {
      if (!name.is_string()) continue;
      if (auto type = ParseIdentifierType(name.get<std::string>())) {
        t.matched_types.push_back(*type);
      }
    }
  }
  t.skip_reason = obj.value("skip_reason", std::string());
  if (obj.contains("kept") && obj["kept"].is_array()) {
    for (const auto& k : obj["kept"]) {
      if (!k.is_object()) continue;
      t.kept.push_back({k.value("record_id", std::string()), k.value("category", std::string()),
                        k.value("reason", std::string()), k.value("detail", std::string())});
    }
  }
}

// An available export becomes `state` ("expired", "erased"); false when none
// was available.
bool MarkExportDestroyed(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                         absl::Time now, absl::string_view state) {
  SQLite::Statement& q = txn.Prepare(
      "UPDATE privacy_request_exports SET state = ?, destroyed_at_us = ? "
      "WHERE tenant_id = ? AND request_id = ? AND state = 'available'");
  q.bind(1, std::string(state));
  q.bind(2, static_cast<int64_t>(Us(now)));
  q.bind(3, std::string(tenant));
  q.bind(4, std::string(id));
  return q.exec() > 0;
}

SystemProgress ReadTask(SQLite::Statement& q) {
  SystemProgress t;
  t.task_id = q.getColumn(0).getString();
  t.phase = ParseTaskPhase(q.getColumn(1).getString());
  t.connector = q.getColumn(2).getString();
  t.state = connector::ParseTaskState(q.getColumn(3).getString())
                .value_or(connector::TaskState::kPending);
  ReadResult(q.getColumn(4).getString(), t);
  t.last_error = q.getColumn(5).getString();
  return t;
}

}  // namespace

void Insert(store::WriteTxn& txn, const PrivacyRequest& r, absl::string_view sealed_subject,
            absl::string_view wrapped_key) {
  static const std::string* const sql = [] {
    std::vector<std::string> marks(kFixedCount + kMutableCount + 2, "?");
    return new std::string(absl::StrCat("INSERT INTO privacy_requests (", Columns(),
                                        ", sealed_subject, export_key) VALUES (",
                                        absl::StrJoin(marks, ", "), ")"));
  }();
  SQLite::Statement& q = txn.Prepare(*sql);
  int i = 1;
  q.bind(i++, r.tenant);
  q.bind(i++, r.id);
  q.bind(i++, static_cast<int>(r.type));
  q.bind(i++, static_cast<int>(r.source));
  q.bind(i++, static_cast<int>(r.requester.relation));
  q.bind(i++, r.requester.channel);
  q.bind(i++, r.requester.reference);
  q.bind(i++, TypesText(r.identifier_types));
  q.bind(i++, r.callback_url);
  q.bind(i++, r.creator);
  q.bind(i++, static_cast<int64_t>(Us(r.received_at)));
  q.bind(i++, static_cast<int64_t>(Us(r.created_at)));
  q.bind(i++, absl::StrJoin(r.only_systems, ","));
  i = BindMutable(q, i, r);
  q.bind(i++, sealed_subject.data(), static_cast<int>(sealed_subject.size()));
  if (wrapped_key.empty()) {
    q.bind(i++);  // erasures keep no export
  } else {
    q.bind(i++, wrapped_key.data(), static_cast<int>(wrapped_key.size()));
  }
  q.exec();
}

template <typename Txn>
std::optional<PrivacyRequest> Load(Txn& txn, absl::string_view tenant, absl::string_view id) {
  SQLite::Statement& q = txn.Prepare(absl::StrCat(
      "SELECT ", Columns(), " FROM privacy_requests WHERE tenant_id = ? AND request_id = ?"));
  q.bind(1, std::string(tenant));
  q.bind(2, std::string(id));
  if (!q.executeStep()) return std::nullopt;
  PrivacyRequest r = ReadRequest(q);
  q.reset();
  return r;
}

void Save(store::WriteTxn& txn, const PrivacyRequest& r) {
  static const std::string* const sql =
      new std::string(absl::StrCat("UPDATE privacy_requests SET ", MutableAssignments(),
                                   " WHERE tenant_id = ? AND request_id = ?"));
  SQLite::Statement& q = txn.Prepare(*sql);
  int i = BindMutable(q, 1, r);
  q.bind(i++, r.tenant);
  q.bind(i++, r.id);
  q.exec();
}

template <typename Txn>
std::optional<std::string> LoadSealedSubject(Txn& txn, absl::string_view tenant,
                                             absl::string_view id) {
  SQLite::Statement& q = PrepareFor(
      txn, "SELECT sealed_subject FROM privacy_requests WHERE tenant_id = ? AND request_id = ?",
      tenant, id);
  std::optional<std::string> out;
  if (q.executeStep() && !q.getColumn(0).isNull()) out = q.getColumn(0).getString();
  q.reset();
  return out;
}

template <typename Txn>
std::optional<std::string> LoadWrappedKey(Txn& txn, absl::string_view tenant,
                                          absl::string_view id) {
  SQLite::Statement& q =
      txn.Prepare("SELECT export_key FROM privacy_requests WHERE tenant_id = ? AND request_id = ?");
  q.bind(1, std::string(tenant));
  q.bind(2, std::string(id));
  std::optional<std::string> out;
  if (q.executeStep() && !q.getColumn(0).isNull()) out = q.getColumn(0).getString();
  q.reset();
  return out;
}

void DestroySealedSubject(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id) {
  SQLite::Statement& q = PrepareFor(
      txn,
      "UPDATE privacy_requests SET sealed_subject = NULL WHERE tenant_id = ? AND request_id = ?",
      tenant, id);
  q.exec();
}

void DestroyWrappedKey(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id) {
  SQLite::Statement& q = PrepareFor(
      txn, "UPDATE privacy_requests SET export_key = NULL WHERE tenant_id = ? AND request_id = ?",
      tenant, id);
  q.exec();
}

void InsertSubjectKeys(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                       RequestType type, const std::vector<std::string>& keys) {
  SQLite::Statement& q = txn.Prepare(
      "INSERT OR IGNORE INTO privacy_request_subjects (tenant_id, subject_key, request_id, type, "
      "open) VALUES (?, ?, ?, ?, 1)");
  for (const auto& key : keys) {
    q.reset();
    q.clearBindings();
    q.bind(1, std::string(tenant));
    q.bind(2, key.data(), static_cast<int>(key.size()));
    q.bind(3, std::string(id));
    q.bind(4, static_cast<int>(type));
    q.exec();
  }
}

std::optional<std::string> FindOpenDuplicate(store::WriteTxn& txn, absl::string_view tenant,
                                             RequestType type,
                                             const std::vector<std::string>& keys) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT request_id FROM privacy_request_subjects WHERE tenant_id = ? AND subject_key = ? "
      "AND type = ? AND open = 1 LIMIT 1");
  for (const auto& key : keys) {
    q.reset();
    q.clearBindings();
    q.bind(1, std::string(tenant));
    q.bind(2, key.data(), static_cast<int>(key.size()));
    q.bind(3, static_cast<int>(type));
    if (q.executeStep()) {
      std::string id = q.getColumn(0).getString();
      q.reset();
      return id;
    }
  }
  q.reset();
  return std::nullopt;
}

void CloseSubjectKeys(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id) {
  SQLite::Statement& q = PrepareFor(
      txn, "UPDATE privacy_request_subjects SET open = 0 WHERE tenant_id = ? AND request_id = ?",
      tenant, id);
  q.exec();
}

template <typename Txn>
std::vector<std::string> LoadSubjectKeys(Txn& txn, absl::string_view tenant, absl::string_view id) {
  SQLite::Statement& q = PrepareFor(
      txn,
      "SELECT subject_key FROM privacy_request_subjects WHERE tenant_id = ? AND request_id = ?",
      tenant, id);
  std::vector<std::string> keys;
  while (q.executeStep()) keys.push_back(q.getColumn(0).getString());
  q.reset();
  return keys;
}

template <typename Txn>
std::vector<std::string> OtherRequestsOf(Txn& txn, absl::string_view tenant, absl::string_view id,
                                         const std::vector<std::string>& keys) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT request_id FROM privacy_request_subjects WHERE tenant_id = ? AND subject_key = ? "
      "AND request_id != ?");
  std::vector<std::string> out;
  for (const auto& key : keys) {
    q.reset();
    q.clearBindings();
    q.bind(1, std::string(tenant));
    q.bind(2, key.data(), static_cast<int>(key.size()));
    q.bind(3, std::string(id));
    while (q.executeStep()) {
      std::string other = q.getColumn(0).getString();
      if (std::find(out.begin(), out.end(), other) == out.end()) out.push_back(std::move(other));
    }
  }
  q.reset();
  return out;
}

bool MarkExportErased(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                      absl::Time now) {
  return MarkExportDestroyed(txn, tenant, id, now, "erased");
}

int DeleteSubjectKeys(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                      const std::vector<std::string>& keys) {
  int deleted = 0;
  SQLite::Statement& own =
      txn.Prepare("DELETE FROM privacy_request_subjects WHERE tenant_id = ? AND request_id = ?");
  own.bind(1, std::string(tenant));
  own.bind(2, std::string(id));
  deleted += own.exec();
  SQLite::Statement& q = txn.Prepare(
      "DELETE FROM privacy_request_subjects WHERE tenant_id = ? AND subject_key = ? AND open = 0");
  for (const auto& key : keys) {
    q.reset();
    q.clearBindings();
    q.bind(1, std::string(tenant));
    q.bind(2, key.data(), static_cast<int>(key.size()));
    deleted += q.exec();
  }
  return deleted;
}

void InsertTask(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                absl::string_view task_id, TaskPhase phase, absl::string_view connector,
                absl::Time now) {
  SQLite::Statement& q = PrepareFor(
      txn,
      "INSERT INTO privacy_request_tasks (tenant_id, request_id, task_id, phase, connector, "
      "state, updated_at_us) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
      tenant, id);
  q.bind(3, std::string(task_id));
  q.bind(4, TaskPhaseName(phase));
  q.bind(5, std::string(connector));
  q.bind(6, static_cast<int64_t>(Us(now)));
  q.exec();
}

template <typename Txn>
std::optional<SystemProgress> LoadTask(Txn& txn, absl::string_view tenant, absl::string_view id,
                                       absl::string_view task_id) {
  SQLite::Statement& q = PrepareFor(
      txn,
      "SELECT task_id, phase, connector, state, result, last_error FROM privacy_request_tasks "
      "WHERE tenant_id = ? AND request_id = ? AND task_id = ?",
      tenant, id);
  q.bind(3, std::string(task_id));
  if (!q.executeStep()) return std::nullopt;
  SystemProgress t = ReadTask(q);
  q.reset();
  return t;
}

void UpdateTask(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                const SystemProgress& task, absl::Time now) {
  SQLite::Statement& q = txn.Prepare(
      "UPDATE privacy_request_tasks SET state = ?, result = ?, last_error = ?, updated_at_us = ? "
      "WHERE tenant_id = ? AND request_id = ? AND task_id = ?");
  q.bind(1, connector::TaskStateName(task.state));
  q.bind(2, ResultJson(task));
  q.bind(3, task.last_error);
  q.bind(4, static_cast<int64_t>(Us(now)));
  q.bind(5, std::string(tenant));
  q.bind(6, std::string(id));
  q.bind(7, task.task_id);
  q.exec();
}

template <typename Txn>
std::vector<SystemProgress> ListTasks(Txn& txn, absl::string_view tenant, absl::string_view id) {
  SQLite::Statement& q = PrepareFor(
      txn,
      "SELECT task_id, phase, connector, state, result, last_error FROM privacy_request_tasks "
      "WHERE tenant_id = ? AND request_id = ? ORDER BY phase = 'verify', connector, task_id",
      tenant, id);
  std::vector<SystemProgress> out;
  while (q.executeStep()) out.push_back(ReadTask(q));
  q.reset();
  return out;
}

int SupersedeTask(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                  absl::string_view task_id, absl::string_view connector) {
  SQLite::Statement& u =
      PrepareFor(txn,
                 "UPDATE privacy_request_tasks SET phase = 'superseded' WHERE tenant_id = ? AND "
                 "request_id = ? AND task_id = ?",
                 tenant, id);
  u.bind(3, std::string(task_id));
  u.exec();
  SQLite::Statement& q = PrepareFor(
      txn,
      "SELECT count(*) FROM privacy_request_tasks WHERE tenant_id = ? AND request_id = ? AND "
      "connector = ? AND phase = 'superseded'",
      tenant, id);
  q.bind(3, std::string(connector));
  const int n = q.executeStep() ? q.getColumn(0).getInt() : 0;
  q.reset();
  return n;
}

void InsertEvent(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                 const StateChange& c) {
  SQLite::Statement& q = PrepareFor(
      txn,
      "INSERT INTO privacy_request_events (tenant_id, request_id, from_state, to_state, actor, "
      "detail, at_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
      tenant, id);
  q.bind(3, static_cast<int>(c.from));
  q.bind(4, static_cast<int>(c.to));
  q.bind(5, c.actor);
  q.bind(6, c.detail);
  q.bind(7, static_cast<int64_t>(Us(c.at)));
  q.exec();
}

template <typename Txn>
std::vector<StateChange> ListEvents(Txn& txn, absl::string_view tenant, absl::string_view id) {
  SQLite::Statement& q =
      PrepareFor(txn,
                 "SELECT from_state, to_state, actor, detail, at_us FROM privacy_request_events "
                 "WHERE tenant_id = ? AND request_id = ? ORDER BY seq LIMIT 1000",
                 tenant, id);
  std::vector<StateChange> out;
  while (q.executeStep()) {
    out.push_back({static_cast<RequestState>(q.getColumn(0).getInt()),
                   static_cast<RequestState>(q.getColumn(1).getInt()), q.getColumn(2).getString(),
                   q.getColumn(3).getString(), FromUs(q.getColumn(4).getInt64())});
  }
  q.reset();
  return out;
}

void InsertLink(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                absl::string_view link_id, const Requester& requester,
                absl::string_view callback_url, absl::string_view creator, absl::Time now) {
  SQLite::Statement& q = PrepareFor(
      txn,
      "INSERT INTO privacy_request_links (tenant_id, request_id, link_id, requester_relation, "
      "requester_channel, requester_reference, callback_url, creator, created_at_us) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      tenant, id);
  q.bind(3, std::string(link_id));
  q.bind(4, static_cast<int>(requester.relation));
  q.bind(5, requester.channel);
  q.bind(6, requester.reference);
  q.bind(7, std::string(callback_url));
  q.bind(8, std::string(creator));
  q.bind(9, static_cast<int64_t>(Us(now)));
  q.exec();
}

std::vector<std::string> CallbackUrls(store::WriteTxn& txn, absl::string_view tenant,
                                      absl::string_view id, absl::string_view own_url) {
  std::vector<std::string> urls;
  if (!own_url.empty()) urls.emplace_back(own_url);
  SQLite::Statement& q =
      PrepareFor(txn,
                 "SELECT DISTINCT callback_url FROM privacy_request_links WHERE tenant_id = ? AND "
                 "request_id = ? AND callback_url != ''",
                 tenant, id);
  while (q.executeStep()) {
    std::string url = q.getColumn(0).getString();
    if (url != own_url) urls.push_back(std::move(url));
  }
  q.reset();
  return urls;
}

void InsertExport(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                  const ExportInfo& info) {
  SQLite::Statement& q = PrepareFor(
      txn,
      "INSERT OR REPLACE INTO privacy_request_exports (tenant_id, request_id, state, size_bytes, "
      "sha256, records, created_at_us, expires_at_us) VALUES (?, ?, 'available', ?, ?, ?, ?, ?)",
      tenant, id);
  q.bind(3, static_cast<int64_t>(info.size_bytes));
  q.bind(4, info.sha256_hex);
  q.bind(5, static_cast<int64_t>(info.records));
  q.bind(6, static_cast<int64_t>(Us(info.created_at)));
  q.bind(7, static_cast<int64_t>(Us(info.expires_at)));
  q.exec();
}

template <typename Txn>
std::optional<ExportInfo> LoadExport(Txn& txn, absl::string_view tenant, absl::string_view id) {
  SQLite::Statement& q =
      PrepareFor(txn,
                 "SELECT state, size_bytes, sha256, records, created_at_us, expires_at_us FROM "
                 "privacy_request_exports WHERE tenant_id = ? AND request_id = ?",
                 tenant, id);
  if (!q.executeStep()) return std::nullopt;
  ExportInfo e;
  e.available = q.getColumn(0).getString() == "available";
  e.erased = q.getColumn(0).getString() == "erased";
  e.size_bytes = q.getColumn(1).getInt64();
  e.sha256_hex = q.getColumn(2).getString();
  e.records = q.getColumn(3).getInt64();
  e.created_at = FromUs(q.getColumn(4).getInt64());
  e.expires_at = FromUs(q.getColumn(5).getInt64());
  q.reset();
  e.downloads = CountDisclosures(txn, tenant, id);
  return e;
}

void MarkExportExpired(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                       absl::Time now) {
  MarkExportDestroyed(txn, tenant, id, now, "expired");
}

template <typename Txn>
std::vector<std::pair<std::string, std::string>> ListExpired(Txn& txn, absl::Time now, int limit) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT tenant_id, request_id FROM privacy_request_exports WHERE state = 'available' AND "
      "expires_at_us <= ? ORDER BY expires_at_us LIMIT ?");
  q.bind(1, static_cast<int64_t>(Us(now)));
  q.bind(2, limit);
  std::vector<std::pair<std::string, std::string>> out;
  while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString());
  q.reset();
  return out;
}

void InsertDisclosure(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                      const Disclosure& d) {
  SQLite::Statement& q = txn.Prepare(
      "INSERT INTO privacy_request_disclosures (tenant_id, disclosure_id, request_id, what, "
      "recipient, recipient_name, principal, disclosed_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, std::string(tenant));
  q.bind(2, d.disclosure_id);
  q.bind(3, std::string(id));
  q.bind(4, d.what);
  q.bind(5, static_cast<int>(d.recipient));
  q.bind(6, d.recipient_name);
  q.bind(7, d.principal);
  q.bind(8, static_cast<int64_t>(Us(d.disclosed_at)));
  q.exec();
}

template <typename Txn>
std::vector<Disclosure> ListDisclosures(Txn& txn, absl::string_view tenant, absl::string_view id,
                                        int limit) {
  SQLite::Statement& q = PrepareFor(
      txn,
      "SELECT disclosure_id, what, recipient, recipient_name, principal, disclosed_at_us FROM "
      "privacy_request_disclosures WHERE tenant_id = ? AND request_id = ? ORDER BY seq DESC "
      "LIMIT ?",
      tenant, id);
  q.bind(3, limit);
  std::vector<Disclosure> out;
  while (q.executeStep()) {
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                   static_cast<DisclosureRecipient>(q.getColumn(2).getInt()),
                   q.getColumn(3).getString(), q.getColumn(4).getString(),
                   FromUs(q.getColumn(5).getInt64())});
  }
  q.reset();
  return out;
}

template <typename Txn>
int CountDisclosures(Txn& txn, absl::string_view tenant, absl::string_view id) {
  SQLite::Statement& q = PrepareFor(
      txn,
      "SELECT count(*) FROM privacy_request_disclosures WHERE tenant_id = ? AND request_id = ?",
      tenant, id);
  int n = q.executeStep() ? q.getColumn(0).getInt() : 0;
  q.reset();
  return n;
}

template <typename Txn>
std::vector<std::pair<std::string, std::string>> ListNeedingWork(Txn& txn, int limit) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT tenant_id, request_id FROM privacy_requests WHERE needs_work = 1 "
      "ORDER BY updated_at_us LIMIT ?");
  q.bind(1, limit);
  std::vector<std::pair<std::string, std::string>> out;
  while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString());
  q.reset();
  return out;
}

int64_t CountHeldRetention(store::WriteTxn& txn, absl::string_view tenant) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT count(*) FROM privacy_requests WHERE tenant_id = ? AND source = ? AND state = ?");
  q.bind(1, std::string(tenant));
  q.bind(2, static_cast<int>(RequestSource::kRetention));
  q.bind(3, static_cast<int>(RequestState::kReceived));
  q.executeStep();
  const int64_t n = q.getColumn(0).getInt64();
  q.reset();
  return n;
}

template <typename Txn>
std::vector<PrivacyRequest> List(Txn& txn, const ListFilter& f) {
  constexpr char kFilters[] =
      "(?2 = 0 OR r.state = ?2) AND (?3 = 0 OR r.type = ?3) AND (?4 IS NULL OR (r.state IN "
      "(1, 2, 3, 7) AND min(r.processor_due_at_us, r.gdpr_due_at_us) < ?4)) AND (?5 IS NULL OR "
      "r.created_at_us < ?5 OR (r.created_at_us = ?5 AND r.request_id < ?6)) "
      "ORDER BY r.created_at_us DESC, r.request_id DESC LIMIT ?7";
  static const std::string* const all = new std::string(absl::StrCat(
      "SELECT ", Columns(), " FROM privacy_requests r WHERE r.tenant_id = ?1 AND ", kFilters));
  // One person's: driven from privacy_request_subjects' primary key (the
  // person's few requests, each by its own key), not the tenant's list.
  static const std::string* const by_subject = [&] {
    std::vector<std::string> columns = absl::StrSplit(Columns(), ", ");
    for (auto& c : columns) c = absl::StrCat("r.", c);
    return new std::string(
        absl::StrCat("SELECT ", absl::StrJoin(columns, ", "),
                     " FROM privacy_request_subjects s CROSS JOIN privacy_requests r "
                     "ON r.tenant_id = s.tenant_id AND r.request_id = s.request_id "
                     "WHERE s.tenant_id = ?1 AND s.subject_key = ?8 AND ",
                     kFilters));
  }();
  SQLite::Statement& q = txn.Prepare(f.subject_key.has_value() ? *by_subject : *all);
  q.bind(1, f.tenant);
  q.bind(2, static_cast<int>(f.state));
  q.bind(3, static_cast<int>(f.type));
  BindOptionalTime(q, 4, f.due_before);
  if (f.before.has_value()) {
    q.bind(5, static_cast<int64_t>(f.before->first));
    q.bind(6, f.before->second);
  } else {
    q.bind(5);
    q.bind(6, "");
  }
  q.bind(7, f.limit);
  if (f.subject_key.has_value()) {
    q.bind(8, f.subject_key->data(), static_cast<int>(f.subject_key->size()));
  }
  std::vector<PrivacyRequest> out;
  while (q.executeStep()) out.push_back(ReadRequest(q));
  q.reset();
  return out;
}

#define DSAR_INSTANTIATE_READS(Txn)                                                               \
  template std::optional<PrivacyRequest> Load(Txn&, absl::string_view, absl::string_view);        \
  template std::optional<std::string> LoadSealedSubject(Txn&, absl::string_view,                  \
                                                        absl::string_view);                       \
  template std::optional<std::string> LoadWrappedKey(Txn&, absl::string_view, absl::string_view); \
  template std::optional<SystemProgress> LoadTask(Txn&, absl::string_view, absl::string_view,     \
                                                  absl::string_view);                             \
  template std::vector<SystemProgress> ListTasks(Txn&, absl::string_view, absl::string_view);     \
  template std::vector<StateChange> ListEvents(Txn&, absl::string_view, absl::string_view);       \
  template std::optional<ExportInfo> LoadExport(Txn&, absl::string_view, absl::string_view);      \
  template std::vector<std::pair<std::string, std::string>> ListExpired(Txn&, absl::Time, int);   \
  template std::vector<Disclosure> ListDisclosures(Txn&, absl::string_view, absl::string_view,    \
                                                   int);                                          \
  template int CountDisclosures(Txn&, absl::string_view, absl::string_view);                      \
  template std::vector<std::pair<std::string, std::string>> ListNeedingWork(Txn&, int);           \
  template std::vector<PrivacyRequest> List(Txn&, const ListFilter&);                             \
  template std::vector<std::string> LoadSubjectKeys(Txn&, absl::string_view, absl::string_view);  \
  template std::vector<std::string> OtherRequestsOf(Txn&, absl::string_view, absl::string_view,   \
                                                    const std::vector<std::string>&);

DSAR_INSTANTIATE_READS(store::ReadTxn)
DSAR_INSTANTIATE_READS(store::WriteTxn)
#undef DSAR_INSTANTIATE_READS

void InsertCallbacks(store::WriteTxn& txn, absl::string_view tenant, absl::string_view request_id,
                     const std::vector<std::string>& urls, const std::string& body,
                     absl::Time now) {
  SQLite::Statement& q = txn.Prepare(
      "INSERT INTO privacy_request_callbacks (tenant_id, request_id, url, body) "
      "VALUES (?, ?, ?, ?)");
  for (const auto& url : urls) {
    q.reset();
    q.clearBindings();
    q.bind(1, std::string(tenant));
    q.bind(2, std::string(request_id));
    q.bind(3, url);
    q.bind(4, body);
    q.exec();
    delivery::delivery_rows::InsertPending(txn, delivery::delivery_rows::kCallbacksChannel,
                                           txn.db().getLastInsertRowid(), tenant, now);
  }
}

std::optional<CallbackContent> ReadCallback(store::ReadTxn& txn, int64_t seq) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT tenant_id, request_id, url, body FROM privacy_request_callbacks WHERE seq = ?");
  q.bind(1, seq);
  std::optional<CallbackContent> content;
  if (q.executeStep()) {
    content = CallbackContent{q.getColumn(0).getString(), q.getColumn(1).getString(),
                              q.getColumn(2).getString(), q.getColumn(3).getString()};
  }
  q.reset();
  return content;
}

}  // namespace dsar::privacy_requests::rows
