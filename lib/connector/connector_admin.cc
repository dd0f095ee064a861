#include "lib/connector/connector_admin.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "lib/audit/audit_log.h"
#include "lib/core/errors.h"
#include "lib/store/idempotency.h"

namespace dsar::connector {

std::vector<const ConnectorInfo*> ConnectorAdmin::ListConnectors(const CallContext& ctx) const {
  std::vector<const ConnectorInfo*> out;
  for (const auto& c : registry_->connectors()) {
    if (c.Serves(ctx.tenant)) out.push_back(&c);
  }
  return out;
}

absl::StatusOr<ConnectorHealth> ConnectorAdmin::GetHealth(const CallContext& ctx,
                                                          absl::string_view name) const {
  if (name.empty()) return InvalidField("name", "required");
  const ConnectorInfo* c = registry_->Find(name);
  if (c == nullptr || !c->Serves(ctx.tenant)) {
    return absl::NotFoundError(absl::StrCat("connectors/", name, " not found"));
  }
  if (dispatcher_ == nullptr) return absl::UnavailableError("connector dispatcher not running");
  return dispatcher_->HealthOf(name);
}

absl::StatusOr<task_store::TaskPage> ConnectorAdmin::ListTasks(const CallContext& ctx,
                                                               task_store::ListQuery query) const {
  query.tenant = ctx.tenant;
  absl::StatusOr<task_store::TaskPage> page;
  absl::Status s = store_->Read([&](store::ReadTxn& txn) {
    page = task_store::List(txn, query);
    return page.status();
  });
  if (!s.ok()) return s;
  return page;
}

void ConnectorAdmin::RetryTask(const CallContext& ctx, std::string task_id, TaskDone done) {
  if (task_id.empty()) {
    done(InvalidField("task_id", "required"));
    return;
  }
  auto result = std::make_shared<absl::StatusOr<TaskInfo>>(absl::InternalError("not run"));
  const absl::Time now = clock_->Now();
  store_->Write(
      [ctx, task_id, now, result](store::WriteTxn& txn) -> absl::Status {
        absl::StatusOr<std::string> response = store::RunIdempotent(
            txn, ctx.tenant, ctx.idempotency_key, ctx.method, store::Fingerprint(task_id), now,
            [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
              auto retried = task_store::Retry(t, ctx.tenant, task_id, now);
              if (!retried.ok()) return retried.status();
              absl::Status audited = audit::Append(t, ctx, TaskName(task_id), "OK", now);
              if (!audited.ok()) return audited;
              return TaskInfoToJson(*retried);
            });
        if (!response.ok()) {
          *result = response.status();
          return response.status();
        }
        *result = TaskInfoFromJson(*response);
        return result->status();
      },
      [this, result, done = std::move(done)](absl::Status written) mutable {
        if (!written.ok()) {
          done(written);
          return;
        }
        if (dispatcher_ != nullptr) dispatcher_->Wake();
        done(std::move(*result));
      });
}

std::string TaskInfoToJson(const TaskInfo& t) {
  nlohmann::json obj = {
      {"task_id", t.task_id},
      {"tenant", t.tenant},
      {"kind", TaskKindName(t.kind)},
      {"connector", t.connector},
      {"resource", t.resource},
      {"state", TaskStateName(t.state)},
      {"attempts", t.attempts},
      {"next_attempt_us", t.next_attempt == absl::InfiniteFuture()
                              ? task_store::kNever
                              : absl::ToUnixMicros(t.next_attempt)},
      {"last_error", t.last_error},
      {"result", task_store::ResultToJson(t.result)},
      {"created_us", absl::ToUnixMicros(t.created)},
      {"updated_us", absl::ToUnixMicros(t.updated)},
  };
  return obj.dump();
}

absl::StatusOr<TaskInfo> TaskInfoFromJson(absl::string_view json) {
  auto obj = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!obj.is_object()) return absl::DataLossError("stored task answer is not JSON");
  TaskInfo t;
  t.task_id = obj.value("task_id", std::string());
  t.tenant = obj.value("tenant", std::string());
  t.kind = ParseTaskKind(obj.value("kind", std::string())).value_or(TaskKind::kSubjectErase);
  t.connector = obj.value("connector", std::string());
  t.resource = obj.value("resource", std::string());
  t.state = ParseTaskState(obj.value("state", std::string())).value_or(TaskState::kPending);
  t.attempts = obj.value("attempts", 0);
  int64_t next = obj.value("next_attempt_us", int64_t{0});
  t.next_attempt = next == task_store::kNever ? absl::InfiniteFuture() : absl::FromUnixMicros(next);
  t.last_error = obj.value("last_error", std::string());
  t.result = task_store::ResultFromJson(obj.value("result", std::string()));
  t.created = absl::FromUnixMicros(obj.value("created_us", int64_t{0}));
  t.updated = absl::FromUnixMicros(obj.value("updated_us", int64_t{0}));
  return t;
}

}  // namespace dsar::connector
