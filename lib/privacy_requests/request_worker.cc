#include "lib/privacy_requests/request_worker.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "lib/audit/audit_log.h"
#include "lib/connector/outbox.h"
#include "lib/connector/registry.h"
#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/private_files.h"
#include "lib/core/status_macros.h"
#include "lib/privacy_requests/bundle.h"
#include "lib/privacy_requests/export_crypto.h"
#include "lib/privacy_requests/export_files.h"
#include "lib/privacy_requests/identifiers.h"
#include "lib/privacy_requests/own_records.h"
#include "lib/privacy_requests/request_rows.h"
#include "lib/privacy_requests/transitions.h"
#include "lib/store/store.h"

namespace dsar::privacy_requests {
namespace {

constexpr int kBatch = 64;
constexpr int kStepThreads = 8;

// Errors that retrying the step cannot fix: the request fails instead.
bool Permanent(const absl::Status& s) {
  return s.code() == absl::StatusCode::kDataLoss ||
         s.code() == absl::StatusCode::kFailedPrecondition ||
         s.code() == absl::StatusCode::kInvalidArgument;
}

void Wipe(std::vector<SubjectIdentifier>& subject) {
  for (auto& id : subject) sodium_memzero(id.value.data(), id.value.size());
  subject.clear();
}

}  // namespace

RequestWorker::RequestWorker(RequestEnv* env)
    : env_(env),
      pool_(kStepThreads),
      callbacks_(env),
      callback_loop_([this] { return CallbackPass(); }) {}

RequestWorker::~RequestWorker() { Stop(); }

void RequestWorker::Start() {
  SweepExportDir();
  started_ = true;
  loop_ = std::thread([this] { Loop(); });
  env_->signal.AttachCallbackLoop(&callback_loop_);
  callback_loop_.Start();
}

void RequestWorker::Stop() {
  env_->signal.Stop();
  if (loop_.joinable()) loop_.join();
  env_->signal.AttachCallbackLoop(nullptr);
  callback_loop_.Stop();
  absl::MutexLock lock(&run_mu_);
  stopped_ = true;
  pool_.Stop();
}

void RequestWorker::Loop() {
  bool after_commit = false;
  for (;;) {
    if (after_commit) {
      // A hook woke us from inside a transaction: let it commit first.
      (void)env_->store->WriteAndWait([](store::WriteTxn&) { return absl::OkStatus(); });
    }
    while (RunOnce() > 0) {
    }
    if (!env_->signal.WaitForWork(env_->options.worker_poll, &after_commit)) return;
  }
}

absl::Duration RequestWorker::CallbackPass() {
  absl::Time next = absl::InfiniteFuture();
  {
    absl::MutexLock lock(&callbacks_mu_);
    while (callbacks_.DeliverDue(kBatch, &next) == kBatch) {
    }
  }
  absl::Duration wait = env_->options.worker_poll;
  if (next != absl::InfiniteFuture()) {
    wait = std::min(wait, std::max(absl::Milliseconds(1), next - env_->clock->Now()));
  }
  return wait;
}

int RequestWorker::DeliverCallbacksOnce() {
  absl::Time next;
  absl::MutexLock lock(&callbacks_mu_);
  return callbacks_.DeliverDue(kBatch, &next);
}

int RequestWorker::RunOnce() {
  absl::MutexLock lock(&run_mu_);
  if (stopped_) return 0;
  std::vector<std::pair<std::string, std::string>> ready;
  absl::Status read = env_->store->Read([&](store::ReadTxn& txn) {
    ready = rows::ListNeedingWork(txn, kBatch);
    return absl::OkStatus();
  });
  if (!read.ok()) return 0;
  absl::Mutex mu;
  int pending = static_cast<int>(ready.size());
  int steps = 0;
  for (const auto& [tenant, id] : ready) {
    pool_.Submit([this, &mu, &pending, &steps, tenant = tenant, id = id] {
      absl::Status s = Step(tenant, id);
      if (!s.ok()) {
        log::Warn("privacy_request_step_failed",
                  {{"request_id", id},
                   {"tenant", tenant},
                   {"code", absl::StatusCodeToString(s.code())}});  // retried at the next poll
      }
      absl::MutexLock done(&mu);
      if (s.ok()) ++steps;
      --pending;
    });
  }
  {
    absl::MutexLock done(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &pending));
  }
  steps += ExpireDue();
  steps += Cleanup();
  return steps;
}

absl::Status RequestWorker::Step(const std::string& tenant, const std::string& id) {
  std::optional<PrivacyRequest> r;
  RETURN_IF_ERROR(env_->store->Read([&](store::ReadTxn& txn) {
    r = rows::Load(txn, tenant, id);
    return absl::OkStatus();
  }));
  if (!r.has_value()) return absl::OkStatus();
  absl::Status s;
  if (r->state == RequestState::kInProgress) {
    switch (r->stage) {
      case Stage::kAssembling:
        s = Assemble(*r);
        break;
      case Stage::kErased:
        s = SendVerification(*r);
        break;
      case Stage::kVerified:
        s = CompleteErasure(*r);
        break;
      default:
        break;
    }
    if (s.ok()) return s;
    if (!Permanent(s)) return s;
    return Fail(*r, absl::StrCat("dsard could not ",
                                 StageName(r->stage) == std::string("assembling")
                                     ? "build the export bundle"
                                     : "finish the erasure",
                                 ": ", s.message()));
  }
  // Nothing (more) to do: clear the flag.
  return env_->store->WriteAndWait([&](store::WriteTxn& txn) {
    std::optional<PrivacyRequest> again = rows::Load(txn, tenant, id);
    if (again.has_value() && again->needs_work && again->state != RequestState::kInProgress) {
      again->needs_work = false;
      rows::Save(txn, *again);
    }
    return absl::OkStatus();
  });
}

absl::Status RequestWorker::Assemble(const PrivacyRequest& r) {
  std::vector<SystemProgress> tasks;
  std::optional<std::string> wrapped;
  std::string own_records;
  RETURN_IF_ERROR(env_->store->Read([&](store::ReadTxn& txn) {
    tasks = rows::ListTasks(txn, r.tenant, r.id);
    wrapped = rows::LoadWrappedKey(txn, r.tenant, r.id);
    // dsard's own records of the person, under any of their keys.
    own_records =
        OwnRecordsJson(txn, r.tenant, r.id, rows::LoadSubjectKeys(txn, r.tenant, r.id), nullptr);
    return absl::OkStatus();
  }));
  if (!wrapped.has_value()) return absl::FailedPreconditionError("the export key was destroyed");
  ASSIGN_OR_RETURN(SecretKey key, env_->key_wrapper->Unwrap(*wrapped, r.id));
  const absl::Time started = env_->clock->Now();
  std::string lost_task;
  absl::StatusOr<BundleResult> built =
      AssembleBundle(*env_, r, tasks, key, started, &lost_task, own_records);
  if (!built.ok()) {
    if (built.status().code() == absl::StatusCode::kDataLoss && !lost_task.empty()) {
      return Reexport(r, lost_task);
    }
    return built.status();
  }
  const BundleResult& bundle = *built;
  const ExportFiles files(env_->options.export_dir);
  bool abandoned = false;
  absl::Time now;
  absl::Status written = env_->store->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    now = env_->clock->Now();
    std::optional<PrivacyRequest> cur = rows::Load(txn, r.tenant, r.id);
    if (!cur.has_value() || cur->state != RequestState::kInProgress ||
        cur->stage != Stage::kAssembling) {
      abandoned = true;
      return absl::OkStatus();
    }
    ExportInfo info;
    info.available = true;
    info.size_bytes = bundle.size_bytes;
    info.sha256_hex = bundle.sha256_hex;
    info.records = bundle.records;
    info.created_at = now;
    info.expires_at = now + env_->options.export_ttl;
    rows::InsertExport(txn, r.tenant, r.id, info);
    rows::DestroySealedSubject(txn, r.tenant, r.id);
    RETURN_IF_ERROR(internal::CloseClocks(txn, *env_, *cur, /*complete=*/true, now));
    RETURN_IF_ERROR(internal::Transition(
        txn, *env_, *cur, RequestState::kCompleted, internal::kSystemActor,
        absl::StrCat("export bundle ready: ", bundle.records, " records from ", bundle.systems,
                     bundle.systems == 1 ? " system" : " systems"),
        now));
    return audit::Append(txn, internal::SystemContext(r.tenant, "CompleteExport"), r.name(), "OK",
                         now);
  });
  if (!written.ok()) return written;
  if (abandoned) {
    files.RemoveRequest(r.tenant, r.id);
    return absl::OkStatus();
  }
  files.RemoveParts(r.tenant, r.id);
  env_->signal.WakeCallbacks();
  log::Info("privacy_request_completed",
            {{"request_id", r.id},
             {"tenant", r.tenant},
             {"type", RequestTypeName(r.type)},
             {"records", bundle.records},
             {"bytes", bundle.size_bytes},
             {"build_ms", absl::ToInt64Milliseconds(now - started)},
             {"since_receipt_ms", absl::ToInt64Milliseconds(now - r.received_at)}});
  return absl::OkStatus();
}

absl::Status RequestWorker::Reexport(const PrivacyRequest& r, const std::string& task_id) {
  constexpr int kMaxReexports = 3;
  bool sent = false;
  RETURN_IF_ERROR(env_->store->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    const absl::Time now = env_->clock->Now();
    std::optional<PrivacyRequest> cur = rows::Load(txn, r.tenant, r.id);
    std::optional<SystemProgress> lost = rows::LoadTask(txn, r.tenant, r.id, task_id);
    if (!cur.has_value() || !lost.has_value() || cur->state != RequestState::kInProgress ||
        cur->stage != Stage::kAssembling) {
      return absl::OkStatus();
    }
    if (rows::SupersedeTask(txn, r.tenant, r.id, task_id, lost->connector) > kMaxReexports) {
      return absl::DataLossError(
          absl::StrCat("the export of ", lost->connector, " was lost ", kMaxReexports, " times"));
    }
    ASSIGN_OR_RETURN(std::vector<SubjectIdentifier> subject,
                     internal::OpenSubject(txn, *env_, *cur));
    auto n = internal::EnqueuePhase(txn, *env_, *cur, connector::TaskKind::kSubjectExport,
                                    TaskPhase::kExport, subject, now, lost->connector);
    Wipe(subject);
    if (!n.ok()) return n.status();
    cur->stage = *n == 0 ? Stage::kAssembling : Stage::kCollecting;
    cur->needs_work = *n == 0;
    cur->updated_at = now;
    rows::InsertEvent(txn, cur->tenant, cur->id,
                      {cur->state, cur->state, internal::kSystemActor,
                       absl::StrCat("export part of ", lost->connector,
                                    " was lost or damaged; export sent again"),
                       now});
    rows::Save(txn, *cur);
    sent = *n > 0;
    return absl::OkStatus();
  }));
  log::Warn("privacy_request_export_resent", {{"request_id", r.id}, {"tenant", r.tenant}});
  if (sent) {
    if (connector::Outbox* outbox = env_->outbox.load()) outbox->Notify();
  }
  return absl::OkStatus();
}

absl::Status RequestWorker::SendVerification(const PrivacyRequest& r) {
  int sent = 0;
  RETURN_IF_ERROR(env_->store->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    const absl::Time now = env_->clock->Now();
    std::optional<PrivacyRequest> cur = rows::Load(txn, r.tenant, r.id);
    if (!cur.has_value() || cur->state != RequestState::kInProgress ||
        cur->stage != Stage::kErased) {
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::vector<SubjectIdentifier> subject,
                     internal::OpenSubject(txn, *env_, *cur));
    auto n = internal::EnqueuePhase(txn, *env_, *cur, connector::TaskKind::kSubjectExport,
                                    TaskPhase::kVerify, subject, now);
    Wipe(subject);
    if (!n.ok()) return n.status();
    sent = *n;
    cur->stage = sent == 0 ? Stage::kVerified : Stage::kVerifying;
    cur->needs_work = sent == 0;
    cur->updated_at = now;
    rows::InsertEvent(txn, cur->tenant, cur->id,
                      {cur->state, cur->state, internal::kSystemActor,
                       absl::StrCat("erasure done; verification export sent to ", sent,
                                    sent == 1 ? " system" : " systems"),
                       now});
    rows::Save(txn, *cur);
    return absl::OkStatus();
  }));
  if (sent > 0) {
    if (connector::Outbox* outbox = env_->outbox.load()) outbox->Notify();
  }
  return absl::OkStatus();
}

absl::Status RequestWorker::CompleteErasure(const PrivacyRequest& r) {
  int64_t deleted = 0, anonymised = 0, kept = 0, consent_rows = 0;
  bool completed = false;
  std::vector<std::pair<std::string, std::string>> erased_exports;  // (tenant, request id)
  RETURN_IF_ERROR(env_->store->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    const absl::Time now = env_->clock->Now();
    std::optional<PrivacyRequest> cur = rows::Load(txn, r.tenant, r.id);
    if (!cur.has_value() || cur->state != RequestState::kInProgress ||
        cur->stage != Stage::kVerified) {
      return absl::OkStatus();
    }
    erased_exports.clear();
    ASSIGN_OR_RETURN(std::vector<SubjectIdentifier> subject,
                     internal::OpenSubject(txn, *env_, *cur));
    // The person is the union of the request's identifiers and those the
    // systems resolved (TaskHooks stored their keys with the request's).
    std::vector<std::string> keys = SubjectKeys(*env_->keyer, r.tenant, subject);
    Wipe(subject);
    for (std::string& key : rows::LoadSubjectKeys(txn, r.tenant, r.id)) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
    }
    // dsard's own records go with an erasure from every system; a retention
    // erasure of some systems only (the person is still a customer of the
    // others) leaves the consent history that serves those.
    bool every_system = true;
    for (const connector::ConnectorInfo* c :
         env_->registry->Targets(r.tenant, connector::TaskKind::kSubjectErase, "")) {
      every_system &= cur->only_systems.empty() ||
                      std::find(cur->only_systems.begin(), cur->only_systems.end(), c->name) !=
                          cur->only_systems.end();
    }
    if (every_system) {
      // Consent under any of the keys, and the person's earlier bundles.
      ASSIGN_OR_RETURN(OwnRecordsErased own,
                       EraseOwnRecords(txn, env_->consent_index, r.tenant, r.id, keys, now));
      consent_rows = own.consent_events;
      for (auto& id : own.exports) erased_exports.emplace_back(r.tenant, std::move(id));
    }
    rows::DeleteSubjectKeys(txn, r.tenant, r.id, keys);
    rows::DestroySealedSubject(txn, r.tenant, r.id);
    int systems = 0;
    for (const SystemProgress& t : rows::ListTasks(txn, r.tenant, r.id)) {
      if (t.phase != TaskPhase::kErase) continue;
      ++systems;
      deleted += t.deleted;
      anonymised += t.anonymised;
      kept += static_cast<int64_t>(t.kept.size());
    }
    RETURN_IF_ERROR(internal::CloseClocks(txn, *env_, *cur, /*complete=*/true, now));
    RETURN_IF_ERROR(internal::Transition(
        txn, *env_, *cur, RequestState::kCompleted, internal::kSystemActor,
        absl::StrCat("erased in ", systems, systems == 1 ? " system: " : " systems: ", deleted,
                     " deleted, ", anonymised, " anonymised, ", kept,
                     " kept with a reason; verified; ", consent_rows,
                     " consent records anonymised in dsard; ", erased_exports.size(),
                     " export bundle(s) of earlier requests destroyed"),
        now));
    completed = true;
    return audit::Append(txn, internal::SystemContext(r.tenant, "CompleteErasure"), r.name(), "OK",
                         now);
  }));
  const ExportFiles files(env_->options.export_dir);
  for (const auto& [tenant, id] : erased_exports) {
    files.RemoveRequest(tenant, id);
    log::Info("privacy_request_export_erased", {{"request_id", id}, {"tenant", tenant}});
  }
  if (completed) {
    env_->signal.WakeCallbacks();
    log::Info(
        "privacy_request_completed",
        {{"request_id", r.id},
         {"tenant", r.tenant},
         {"type", "ERASURE"},
         {"deleted", deleted},
         {"anonymised", anonymised},
         {"kept", kept},
         {"since_receipt_ms", absl::ToInt64Milliseconds(env_->clock->Now() - r.received_at)}});
  }
  return absl::OkStatus();
}

absl::Status RequestWorker::Fail(const PrivacyRequest& r, const std::string& reason) {
  log::Error("privacy_request_failed", {{"request_id", r.id}, {"tenant", r.tenant}});
  RETURN_IF_ERROR(env_->store->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    const absl::Time now = env_->clock->Now();
    std::optional<PrivacyRequest> cur = rows::Load(txn, r.tenant, r.id);
    if (!cur.has_value() || cur->state != RequestState::kInProgress) return absl::OkStatus();
    cur->failure_reason = reason.substr(0, 500);
    cur->needs_work = false;
    RETURN_IF_ERROR(internal::Transition(txn, *env_, *cur, RequestState::kFailed,
                                         internal::kSystemActor, cur->failure_reason, now));
    return audit::Append(txn, internal::SystemContext(r.tenant, "Fail"), r.name(),
                         "FAILED_PRECONDITION", now);
  }));
  env_->signal.WakeCallbacks();
  return absl::OkStatus();
}

int RequestWorker::ExpireDue() {
  const absl::Time now = env_->clock->Now();
  std::vector<std::pair<std::string, std::string>> expired;
  if (!env_->store
           ->Read([&](store::ReadTxn& txn) {
             expired = rows::ListExpired(txn, now, kBatch);
             return absl::OkStatus();
           })
           .ok()) {
    return 0;
  }
  if (expired.empty()) return 0;
  // One transaction for the batch: keys destroyed first, files after.
  absl::Status s = env_->store->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    for (const auto& [tenant, id] : expired) {
      rows::MarkExportExpired(txn, tenant, id, now);
      rows::DestroyWrappedKey(txn, tenant, id);
      RETURN_IF_ERROR(audit::Append(txn, internal::SystemContext(tenant, "ExpireExport"),
                                    absl::StrCat(RequestName(id), "/export"), "OK", now));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return 0;
  const ExportFiles files(env_->options.export_dir);
  for (const auto& [tenant, id] : expired) {
    files.RemoveRequest(tenant, id);
    log::Info("privacy_request_export_expired", {{"request_id", id}, {"tenant", tenant}});
  }
  return static_cast<int>(expired.size());
}

int RequestWorker::Cleanup() {
  const ExportFiles files(env_->options.export_dir);
  int n = 0;
  for (const auto& [tenant, id] : env_->cleanup.Take()) {
    std::optional<PrivacyRequest> r;
    std::optional<ExportInfo> info;
    if (!env_->store
             ->Read([&](store::ReadTxn& txn) {
               r = rows::Load(txn, tenant, id);
               info = rows::LoadExport(txn, tenant, id);
               return absl::OkStatus();
             })
             .ok()) {
      env_->cleanup.Add(tenant, id);
      continue;
    }
    if (r.has_value() && (IsOpen(r->state) || (info.has_value() && info->available))) continue;
    files.RemoveRequest(tenant, id);
    ++n;
  }
  return n;
}

int RequestWorker::SweepExportDir() {
  namespace fs = std::filesystem;
  const ExportFiles files(env_->options.export_dir);
  std::error_code ec;
  (void)CreatePrivateDirectories(files.root());
  fs::permissions(files.root(), fs::perms::owner_all, fs::perm_options::replace, ec);
  int n = 0;
  for (const auto& tenant_dir : fs::directory_iterator(files.root(), ec)) {
    if (!tenant_dir.is_directory()) continue;
    for (const auto& request_dir : fs::directory_iterator(tenant_dir.path(), ec)) {
      env_->cleanup.Add(tenant_dir.path().filename().string(),
                        request_dir.path().filename().string());
      ++n;
    }
  }
  return n;
}

}  // namespace dsar::privacy_requests
