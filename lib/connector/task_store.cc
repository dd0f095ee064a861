#include "lib/connector/task_store.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/core/errors.h"
#include "lib/store/page_token.h"

namespace dsar::connector::task_store {
namespace {

constexpr char kColumns[] =
    "task_id, tenant_id, kind, connector, resource, state, attempts, next_attempt_us, "
    "last_error, result, created_at_us, updated_at_us";

uint32_t StateBit(TaskState s) { return 1u << static_cast<int>(s); }

TaskInfo ReadInfo(SQLite::Statement& q) {
  TaskInfo t;
  t.task_id = q.getColumn(0).getString();
  t.tenant = q.getColumn(1).getString();
  t.kind = ParseTaskKind(q.getColumn(2).getString()).value_or(TaskKind::kSubjectErase);
  t.connector = q.getColumn(3).getString();
  t.resource = q.getColumn(4).getString();
  t.state = ParseTaskState(q.getColumn(5).getString()).value_or(TaskState::kPending);
  t.attempts = q.getColumn(6).getInt();
  int64_t next = q.getColumn(7).getInt64();
  t.next_attempt = next == kNever ? absl::InfiniteFuture() : absl::FromUnixMicros(next);
  t.last_error = q.getColumn(8).getString();
  t.result = ResultFromJson(q.getColumn(9).getString());
  t.created = absl::FromUnixMicros(q.getColumn(10).getInt64());
  t.updated = absl::FromUnixMicros(q.getColumn(11).getInt64());
  return t;
}

}  // namespace

std::string ResultToJson(const TaskResult& r) {
  nlohmann::json obj = nlohmann::json::object();
  if (r.deleted) obj["deleted"] = r.deleted;
  if (r.anonymised) obj["anonymised"] = r.anonymised;
  if (r.affected) obj["affected"] = r.affected;
  if (r.records) obj["records"] = r.records;
  if (r.replayed) obj["replayed"] = true;
  if (!r.skip_reason.empty()) obj["skip_reason"] = r.skip_reason;
  if (!r.kept.empty()) {
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& k : r.kept) {
      kept.push_back({{"record_id", k.record_id},
                      {"category", k.category},
                      {"reason", k.reason},
                      {"detail", k.detail}});
    }
    obj["kept"] = kept;
  }
  return obj.empty() ? "" : obj.dump();
}

TaskResult ResultFromJson(absl::string_view json) {
  TaskResult r;
  if (json.empty()) return r;
  auto obj = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!obj.is_object()) return r;
  r.deleted = obj.value("deleted", int64_t{0});
  r.anonymised = obj.value("anonymised", int64_t{0});
  r.affected = obj.value("affected", int64_t{0});
  r.records = obj.value("records", int64_t{0});
  r.replayed = obj.value("replayed", false);
  r.skip_reason = obj.value("skip_reason", std::string());
  if (obj.contains("kept") && obj["kept"].is_array()) {
    for (const auto& k : obj["kept"]) {
      if (!k.is_object()) continue;
      r.kept.push_back({k.value("record_id", std::string()), k.value("category", std::string()),
                        k.value("reason", std::string()), k.value("detail", std::string())});
    }
  }
  return r;
}

absl::Status Insert(store::WriteTxn& txn, const TaskInfo& info, absl::string_view payload) {
  SQLite::Statement& exists = txn.Prepare("SELECT 1 FROM outbox_tasks WHERE task_id = ?");
  exists.bind(1, info.task_id);
  bool taken = exists.executeStep();
  exists.reset();
  if (taken) {
    return WithErrorInfo(absl::AlreadyExistsError("a task with this task_id exists"),
                         "TASK_EXISTS");
  }
  SQLite::Statement& insert = txn.Prepare(
      "INSERT INTO outbox_tasks (task_id, tenant_id, kind, connector, resource, payload, state, "
      "attempts, next_attempt_us, last_error, created_at_us, updated_at_us, lease_owner, result) "
      "VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, '', ?, ?, '', '')");
  const int64_t now_us = absl::ToUnixMicros(info.created);
  insert.bind(1, info.task_id);
  insert.bind(2, info.tenant);
  insert.bind(3, TaskKindName(info.kind));
  insert.bind(4, info.connector);
  insert.bind(5, info.resource);
  insert.bind(6, payload.data(), static_cast<int>(payload.size()));
  insert.bind(7, static_cast<int64_t>(now_us));
  insert.bind(8, static_cast<int64_t>(now_us));
  insert.bind(9, static_cast<int64_t>(now_us));
  insert.exec();
  return absl::OkStatus();
}

std::vector<ClaimedTask> Claim(store::WriteTxn& txn, absl::string_view connector,
                               absl::string_view owner, absl::Time now, absl::Time lease_until,
                               int limit) {
  std::vector<ClaimedTask> out;
  if (limit <= 0) return out;
  SQLite::Statement& claim = txn.Prepare(
      "UPDATE outbox_tasks SET state = 'running', lease_owner = ?1, next_attempt_us = ?2, "
      "updated_at_us = ?3, attempts = attempts + (CASE WHEN state = 'waiting' THEN 0 ELSE 1 END) "
      "WHERE task_id IN (SELECT task_id FROM outbox_tasks WHERE connector = ?4 AND "
      "next_attempt_us <= ?3 ORDER BY next_attempt_us LIMIT ?5) "
      "RETURNING task_id, tenant_id, kind, connector, resource, state, attempts, "
      "next_attempt_us, last_error, result, created_at_us, updated_at_us, payload");
  claim.bind(1, std::string(owner));
  claim.bind(2, static_cast<int64_t>(absl::ToUnixMicros(lease_until)));
  claim.bind(3, static_cast<int64_t>(absl::ToUnixMicros(now)));
  claim.bind(4, std::string(connector));
  claim.bind(5, limit);
  while (claim.executeStep()) {
    ClaimedTask t;
    t.info = ReadInfo(claim);
    t.payload = claim.getColumn(12).getString();
    out.push_back(std::move(t));
  }
  claim.reset();
  return out;
}

bool Finish(store::WriteTxn& txn, absl::string_view task_id, absl::string_view owner,
            TaskState state, const TaskResult& result, absl::string_view last_error,
            int64_t next_attempt_us, absl::Time now, bool wipe_payload) {
  SQLite::Statement& finish = txn.Prepare(
      "UPDATE outbox_tasks SET state = ?, result = ?, last_error = ?, next_attempt_us = ?, "
      "updated_at_us = ?, lease_owner = '', "
      "payload = CASE WHEN ? THEN x'' ELSE payload END "
      "WHERE task_id = ? AND state = 'running' AND lease_owner = ?");
  finish.bind(1, TaskStateName(state));
  finish.bind(2, ResultToJson(result));
  finish.bind(3, std::string(last_error));
  finish.bind(4, static_cast<int64_t>(next_attempt_us));
  finish.bind(5, static_cast<int64_t>(absl::ToUnixMicros(now)));
  finish.bind(6, wipe_payload ? 1 : 0);
  finish.bind(7, std::string(task_id));
  finish.bind(8, std::string(owner));
  return finish.exec() == 1;
}

int RecoverLeases(store::WriteTxn& txn, absl::Time now) {
  SQLite::Statement& recover = txn.Prepare(
      "UPDATE outbox_tasks SET next_attempt_us = ?1 WHERE state = 'running' AND "
      "next_attempt_us > ?1");
  recover.bind(1, static_cast<int64_t>(absl::ToUnixMicros(now)));
  return recover.exec();
}

int SkipUnknownConnectors(store::WriteTxn& txn, const std::vector<std::string>& known,
                          absl::Time now) {
  // Runs once at start; the statement text depends on the configured names.
  std::string placeholders;
  for (size_t i = 0; i < known.size(); ++i) placeholders += i == 0 ? "?" : ", ?";
  std::string sql = absl::StrCat(
      "UPDATE outbox_tasks SET state = 'skipped', next_attempt_us = ?, updated_at_us = ?, "
      "lease_owner = '', result = ? WHERE state IN ('pending', 'running', 'failed', 'waiting')",
      known.empty() ? "" : absl::StrCat(" AND connector NOT IN (", placeholders, ")"));
  SQLite::Statement q(txn.db(), sql);
  TaskResult skipped;
  skipped.skip_reason = "connector not configured";
  q.bind(1, static_cast<int64_t>(kNever));
  q.bind(2, static_cast<int64_t>(absl::ToUnixMicros(now)));
  q.bind(3, ResultToJson(skipped));
  for (size_t i = 0; i < known.size(); ++i) q.bind(static_cast<int>(i) + 4, known[i]);
  return q.exec();
}

absl::StatusOr<TaskInfo> Retry(store::WriteTxn& txn, absl::string_view tenant,
                               absl::string_view task_id, absl::Time now) {
  auto current = Get(txn, tenant, task_id);
  if (!current.ok()) return current.status();
  if (current->state != TaskState::kFailed && current->state != TaskState::kDead &&
      current->state != TaskState::kSkipped && current->state != TaskState::kNoMatch) {
    return FailedPreconditionWithViolations(
        "only failed, dead, skipped or no-match tasks can be retried",
        {{"STATE", TaskName(task_id), absl::StrCat("task is ", TaskStateName(current->state))}});
  }
  SQLite::Statement& retry = txn.Prepare(
      "UPDATE outbox_tasks SET state = 'pending', attempts = 0, next_attempt_us = ?1, "
      "last_error = '', result = '', updated_at_us = ?1 WHERE tenant_id = ?2 AND task_id = ?3");
  retry.bind(1, static_cast<int64_t>(absl::ToUnixMicros(now)));
  retry.bind(2, std::string(tenant));
  retry.bind(3, std::string(task_id));
  retry.exec();
  current->state = TaskState::kPending;
  current->attempts = 0;
  current->next_attempt = now;
  current->last_error.clear();
  current->result = TaskResult();
  current->updated = now;
  return current;
}

int64_t CountOpenTasksForResource(store::WriteTxn& txn, absl::string_view tenant,
                                  absl::string_view resource) {
  SQLite::Statement& open = txn.Prepare(
      "SELECT count(*) FROM outbox_tasks WHERE tenant_id = ? AND resource = ? "
      "AND state NOT IN ('done', 'skipped', 'no_match')");
  open.bind(1, std::string(tenant));
  open.bind(2, std::string(resource));
  open.executeStep();
  const int64_t count = open.getColumn(0).getInt64();
  open.reset();
  return count;
}

template <typename Txn>
absl::StatusOr<TaskInfo> Get(Txn& txn, absl::string_view tenant, absl::string_view task_id) {
  SQLite::Statement& q = txn.Prepare(
      absl::StrCat("SELECT ", kColumns, " FROM outbox_tasks WHERE tenant_id = ? AND task_id = ?"));
  q.bind(1, std::string(tenant));
  q.bind(2, std::string(task_id));
  if (!q.executeStep()) {
    q.reset();
    return absl::NotFoundError(absl::StrCat(TaskName(task_id), " not found"));
  }
  TaskInfo t = ReadInfo(q);
  q.reset();
  return t;
}

template <typename Txn>
absl::StatusOr<TaskPage> List(Txn& txn, const ListQuery& query) {
  int page_size = query.page_size == 0 ? 50 : query.page_size;
  if (page_size < 1 || page_size > 500) return InvalidField("page_size", "must be 1-500");
  uint32_t state_mask = 0;
  for (TaskState s : query.states) state_mask |= StateBit(s);
  // Page token: the (created_at_us, task_id) of the last task sent.
  const std::string tag = store::PageFilterTag(
      {query.tenant, absl::StrCat(state_mask), query.connector, query.resource});
  int64_t before_us = kNever;
  std::string before_id;
  if (!query.page_token.empty()) {
    auto position = store::DecodePageToken(query.page_token, tag, 2);
    if (!position.has_value() || !absl::SimpleAtoi((*position)[0], &before_us)) {
      return InvalidField("page_token", "not a token from a previous page of this query");
    }
    before_id = (*position)[1];
  }
  SQLite::Statement& q = txn.Prepare(absl::StrCat(
      "SELECT ", kColumns,
      " FROM outbox_tasks WHERE tenant_id = ?1 "
      "AND (?2 = 0 OR ((CASE state WHEN 'pending' THEN 1 WHEN 'running' THEN 2 "
      "WHEN 'done' THEN 4 WHEN 'skipped' THEN 8 WHEN 'waiting' THEN 16 WHEN 'failed' THEN 32 "
      "WHEN 'dead' THEN 64 WHEN 'no_match' THEN 128 ELSE 0 END) & ?2) != 0) "
      "AND (?3 = '' OR connector = ?3) AND (?4 = '' OR resource = ?4) "
      "AND (created_at_us < ?5 OR (created_at_us = ?5 AND task_id < ?6)) "
      "ORDER BY created_at_us DESC, task_id DESC LIMIT ?7"));
  q.bind(1, query.tenant);
  q.bind(2, static_cast<int64_t>(state_mask));
  q.bind(3, query.connector);
  q.bind(4, query.resource);
  q.bind(5, static_cast<int64_t>(before_us));
  q.bind(6, before_id.empty() && before_us == kNever ? std::string("\x7f") : before_id);
  q.bind(7, page_size + 1);
  TaskPage page;
  while (q.executeStep()) {
    if (static_cast<int>(page.tasks.size()) == page_size) {
      const TaskInfo& last = page.tasks.back();
      page.next_page_token = store::EncodePageToken(
          {absl::StrCat(absl::ToUnixMicros(last.created)), last.task_id}, tag);
      break;
    }
    page.tasks.push_back(ReadInfo(q));
  }
  q.reset();
  return page;
}

template absl::StatusOr<TaskInfo> Get(store::ReadTxn&, absl::string_view, absl::string_view);
template absl::StatusOr<TaskInfo> Get(store::WriteTxn&, absl::string_view, absl::string_view);
template absl::StatusOr<TaskPage> List(store::ReadTxn&, const ListQuery&);
template absl::StatusOr<TaskPage> List(store::WriteTxn&, const ListQuery&);

std::optional<absl::Time> LastDone(store::ReadTxn& txn, absl::string_view connector) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT MAX(updated_at_us) FROM outbox_tasks WHERE connector = ? AND state = 'done'");
  q.bind(1, std::string(connector));
  std::optional<absl::Time> last;
  if (q.executeStep() && !q.getColumn(0).isNull()) {
    last = absl::FromUnixMicros(q.getColumn(0).getInt64());
  }
  q.reset();
  return last;
}

std::vector<StateCount> CountByState(store::ReadTxn& txn) {
  SQLite::Statement& q = txn.Prepare(
      "SELECT tenant_id, connector, state, COUNT(*) FROM outbox_tasks "
      "GROUP BY tenant_id, connector, state");
  std::vector<StateCount> out;
  while (q.executeStep()) {
    out.push_back(StateCount{q.getColumn(0).getString(), q.getColumn(1).getString(),
                             q.getColumn(2).getString(), q.getColumn(3).getInt64()});
  }
  q.reset();
  return out;
}

}  // namespace dsar::connector::task_store
