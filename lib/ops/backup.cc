#include "lib/ops/backup.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "lib/audit/audit_log.h"
#include "lib/core/log.h"
#include "lib/core/private_files.h"

namespace dsar::ops {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kPrefix = "dsar-";
constexpr absl::string_view kSuffix = ".db";

absl::Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(path, ": cannot open to sync"));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return absl::UnavailableError(absl::StrCat(path, ": fsync failed"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> Sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::UnavailableError(absl::StrCat(path, ": cannot read"));
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) {
      crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()),
                                static_cast<unsigned long long>(in.gcount()));
    }
  }
  if (in.bad()) return absl::UnavailableError(absl::StrCat(path, ": read error"));
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

// Runs one statement on the copy and returns the first column of its first
// row as text.
absl::StatusOr<std::string> ExecOnCopy(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("backup: ", sqlite3_errmsg(db)));
  }
  std::string first;
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) first = reinterpret_cast<const char*>(text);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
  }
  std::string error = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  if (!error.empty()) return absl::UnavailableError(absl::StrCat("backup: ", error));
  return first;
}

nlohmann::json ToJson(const BackupInfo& b) {
  return {{"name", b.name},
          {"path", b.path},
          {"size_bytes", b.size_bytes},
          {"sha256", b.sha256},
          {"create_time_us", absl::ToUnixMicros(b.create_time)},
          {"duration_us", absl::ToInt64Microseconds(b.duration)},
          {"schema_version", b.schema_version},
          {"audit_head_seq", b.audit_head_seq},
          {"audit_head_hash", b.audit_head_hash},
          {"trigger", b.trigger}};
}

BackupInfo FromJson(const nlohmann::json& j) {
  BackupInfo b;
  b.name = j.value("name", "");
  b.path = j.value("path", "");
  b.size_bytes = j.value("size_bytes", int64_t{0});
  b.sha256 = j.value("sha256", "");
  b.create_time = absl::FromUnixMicros(j.value("create_time_us", int64_t{0}));
  b.duration = absl::Microseconds(j.value("duration_us", int64_t{0}));
  b.schema_version = j.value("schema_version", 0);
  b.audit_head_seq = j.value("audit_head_seq", int64_t{0});
  b.audit_head_hash = j.value("audit_head_hash", "");
  b.trigger = j.value("trigger", "");
  return b;
}

// Writes `contents` to `path` through a temporary file and a rename.
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  {
    if (auto s = EnsurePrivateFile(tmp); !s.ok()) return s;
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << contents;
    if (!out.flush()) return absl::UnavailableError(absl::StrCat(tmp, ": cannot write"));
  }
  if (auto s = FsyncPath(tmp, false); !s.ok()) return s;
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat(path, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BackupInfo> BackupDatabase(store::Store& store, const std::string& dest_path) {
  std::error_code ec;
  if (fs::exists(dest_path, ec)) {
    return absl::AlreadyExistsError(absl::StrCat(dest_path, ": exists"));
  }
  // A backup holds every tenant's data: owner-only from its first byte.
  if (auto s = EnsurePrivateFile(dest_path); !s.ok()) return s;
  sqlite3* dest = nullptr;
  if (sqlite3_open_v2(dest_path.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    std::string error = dest ? sqlite3_errmsg(dest) : "out of memory";
    sqlite3_close(dest);
    return absl::UnavailableError(absl::StrCat(dest_path, ": cannot create backup: ", error));
  }
  BackupInfo info;
  info.path = dest_path;
  absl::Status copied = store.Read([&](store::ReadTxn& txn) -> absl::Status {
    // The first read opens the snapshot; the backup below copies that same
    // snapshot, so the audit head read here is the copy's.
    SQLite::Statement& version = txn.Prepare("PRAGMA user_version");
    if (version.executeStep()) info.schema_version = version.getColumn(0).getInt();
    const audit::Head head = audit::ReadHead(txn);
    info.audit_head_seq = head.seq;
    info.audit_head_hash = head.hash;
    sqlite3_backup* backup = sqlite3_backup_init(dest, "main", txn.db().getHandle(), "main");
    if (backup == nullptr) {
      return absl::UnavailableError(absl::StrCat("backup: ", sqlite3_errmsg(dest)));
    }
    // One step copies every page while this read transaction holds the
    // snapshot; writers go on appending to the WAL meanwhile.
    const int rc = sqlite3_backup_step(backup, -1);
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) {
      return absl::UnavailableError(absl::StrCat("backup: ", sqlite3_errstr(rc)));
    }
    return absl::OkStatus();
  });
  absl::Status checked = copied;
  if (checked.ok()) {
    // A single self-contained file: no -wal to carry along.
    auto mode = ExecOnCopy(dest, "PRAGMA journal_mode=DELETE");
    if (!mode.ok()) checked = mode.status();
  }
  if (checked.ok()) {
    auto check = ExecOnCopy(dest, "PRAGMA quick_check");
    if (!check.ok()) {
      checked = check.status();
    } else if (*check != "ok") {
      checked = absl::DataLossError(absl::StrCat("backup copy failed quick_check: ", *check));
    }
  }
  sqlite3_close(dest);
  if (checked.ok()) checked = FsyncPath(dest_path, false);
  if (checked.ok()) {
    auto sha = Sha256File(dest_path);
    if (sha.ok()) {
      info.sha256 = *sha;
    } else {
      checked = sha.status();
    }
  }
  if (!checked.ok()) {
    fs::remove(dest_path, ec);
    return checked;
  }
  info.size_bytes = static_cast<int64_t>(fs::file_size(dest_path, ec));
  return info;
}

BackupManager::BackupManager(store::Store* store, Clock* clock, BackupOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      worker_([this] { return RunNext(); }) {}

BackupManager::~BackupManager() { Stop(); }

void BackupManager::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stopping_) return;
  started_ = true;
  next_scheduled_ = absl::Now() + options_.interval;
  worker_.Start();
}

void BackupManager::Stop() {
  std::deque<Job> abandoned;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    abandoned.swap(queue_);
  }
  for (auto& job : abandoned) job.done(absl::UnavailableError("dsard is shutting down"));
  worker_.Stop();
}

void BackupManager::Create(const CallContext& ctx, Done done) {
  {
    absl::ReleasableMutexLock lock(&mu_);
    if (stopping_ || !started_) {
      lock.Release();
      done(absl::UnavailableError("backups are not running"));
      return;
    }
    if (static_cast<int>(queue_.size()) >= options_.max_queued) {
      lock.Release();
      done(absl::ResourceExhaustedError("too many backups waiting; retry later"));
      return;
    }
    queue_.push_back(Job{ctx, "manual", std::move(done)});
  }
  worker_.Wake();
}

absl::StatusOr<BackupInfo> BackupManager::CreateAndWait(const CallContext& ctx) {
  absl::Notification finished;
  absl::StatusOr<BackupInfo> result;
  Create(ctx, [&](absl::StatusOr<BackupInfo> r) {
    result = std::move(r);
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
}

BackupManager::Stats BackupManager::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

bool BackupManager::WaitForFinished(int64_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stats_.succeeded + stats_.failed >= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

absl::Duration BackupManager::RunNext() {
  // The schedule runs on real elapsed time, like the loop's wait.
  const bool scheduled = options_.interval > absl::ZeroDuration();
  Job job;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::InfiniteDuration();
    if (!queue_.empty()) {
      job = std::move(queue_.front());
      queue_.pop_front();
    } else if (scheduled && absl::Now() >= next_scheduled_) {
      job.trigger = "scheduled";
      job.ctx.principal = "dsard";
      job.ctx.role = Role::kAdmin;
      job.ctx.tenant = "-";
      job.ctx.method = "backup.schedule";
      next_scheduled_ = absl::Now() + options_.interval;
    } else {
      return scheduled ? next_scheduled_ - absl::Now() : absl::InfiniteDuration();
    }
  }
  absl::StatusOr<BackupInfo> result = Run(job);
  {
    absl::MutexLock lock(&mu_);
    if (result.ok()) {
      ++stats_.succeeded;
      stats_.last_success = result->create_time;
      stats_.last_duration = result->duration;
      stats_.last_size_bytes = result->size_bytes;
    } else {
      ++stats_.failed;
    }
  }
  if (job.done) job.done(std::move(result));
  return absl::ZeroDuration();  // look again at once: more may be queued
}

absl::StatusOr<std::string> BackupManager::FreshName() const {
  const std::string stamp = absl::FormatTime("%Y%m%dT%H%M%SZ", clock_->Now(), absl::UTCTimeZone());
  for (int i = 0; i < 1000; ++i) {
    std::string name = i == 0 ? absl::StrCat(kPrefix, stamp, kSuffix)
                              : absl::StrCat(kPrefix, stamp, "-", i, kSuffix);
    std::error_code ec;
    const std::string path = (fs::path(options_.directory) / name).string();
    if (!fs::exists(path, ec) && !fs::exists(path + ".tmp", ec)) return name;
  }
  return absl::AlreadyExistsError("no free backup file name");
}

absl::StatusOr<BackupInfo> BackupManager::Run(const Job& job) {
  const absl::Time started = absl::Now();
  std::error_code ec;
  if (absl::Status created = CreatePrivateDirectories(options_.directory); !created.ok()) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat(options_.directory, ": cannot create backup directory: ", created.message()));
    Audit(job, "backups/-", s);
    return s;
  }
  auto name = FreshName();
  if (!name.ok()) return name.status();
  const std::string dir = fs::absolute(options_.directory).lexically_normal().string();
  const std::string final_path = (fs::path(dir) / *name).string();
  const std::string tmp_path = final_path + ".tmp";
  const absl::Time snapshot_time = clock_->Now();
  auto info = BackupDatabase(*store_, tmp_path);
  absl::Status status = info.status();
  if (status.ok()) {
    fs::rename(tmp_path, final_path, ec);
    if (ec) status = absl::UnavailableError(absl::StrCat(final_path, ": ", ec.message()));
  }
  if (status.ok()) {
    info->name = *name;
    info->path = final_path;
    info->create_time = snapshot_time;
    info->trigger = job.trigger;
    info->duration = absl::Now() - started;
    status =
        WriteFileAtomically(final_path + ".sha256", absl::StrCat(info->sha256, "  ", *name, "\n"));
  }
  if (status.ok()) status = WriteFileAtomically(final_path + ".json", ToJson(*info).dump(2) + "\n");
  if (status.ok()) status = FsyncPath(dir, true);
  Audit(job, absl::StrCat("backups/", *name), status);
  if (!status.ok()) {
    // No half-made backup is left: not the copy, nor a sidecar without it.
    for (const std::string& p : {tmp_path, final_path, final_path + ".sha256", final_path + ".json",
                                 final_path + ".sha256.tmp", final_path + ".json.tmp"}) {
      fs::remove(p, ec);
    }
    log::Error("backup_failed", {{"name", *name},
                                 {"code", absl::StatusCodeToString(status.code())},
                                 {"detail", std::string(status.message())}});
    return status;
  }
  log::Info("backup_created", {{"name", info->name},
                               {"path", info->path},
                               {"size_bytes", info->size_bytes},
                               {"sha256", info->sha256},
                               {"audit_head_seq", info->audit_head_seq},
                               {"trigger", info->trigger},
                               {"duration_ms", absl::ToInt64Milliseconds(info->duration)}});
  Prune();
  return info;
}

void BackupManager::Audit(const Job& job, const std::string& resource,
                          const absl::Status& outcome) {
  CallContext ctx = job.ctx;
  if (ctx.method.empty()) ctx.method = "/dsar.v1.AdminService/CreateBackup";
  const std::string code = outcome.ok() ? "OK" : absl::StatusCodeToString(outcome.code());
  absl::Status s = store_->WriteAndWait(
      [&](store::WriteTxn& txn) { return audit::Append(txn, ctx, resource, code, clock_->Now()); });
  if (!s.ok()) log::Warn("backup_audit_failed", {{"code", absl::StatusCodeToString(s.code())}});
}

absl::StatusOr<std::vector<BackupInfo>> BackupManager::List() const {
  std::vector<BackupInfo> out;
  std::error_code ec;
  if (!fs::exists(options_.directory, ec)) return out;
  for (const auto& entry : fs::directory_iterator(options_.directory, ec)) {
    const std::string file = entry.path().filename().string();
    if (!absl::StartsWith(file, kPrefix) || !absl::EndsWith(file, ".db.json")) continue;
    std::ifstream in(entry.path());
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto json = nlohmann::json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) continue;
    BackupInfo info = FromJson(json);
    if (!fs::exists(fs::path(options_.directory) / info.name, ec)) continue;
    out.push_back(std::move(info));
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat(options_.directory, ": ", ec.message()));
  }
  std::sort(out.begin(), out.end(), [](const BackupInfo& a, const BackupInfo& b) {
    // Same clock time (a fake clock, or one second's names with a counter):
    // the later snapshot has the longer audit chain (each backup appends to it).
    if (a.create_time != b.create_time) return a.create_time > b.create_time;
    if (a.audit_head_seq != b.audit_head_seq) return a.audit_head_seq > b.audit_head_seq;
    return a.name > b.name;
  });
  return out;
}

void BackupManager::Prune() {
  if (options_.keep <= 0) return;
  auto backups = List();
  if (!backups.ok()) return;
  for (size_t i = options_.keep; i < backups->size(); ++i) {
    const fs::path base = fs::path(options_.directory) / (*backups)[i].name;
    std::error_code ec;
    for (const char* suffix : {"", ".sha256", ".json"}) fs::remove(base.string() + suffix, ec);
    log::Info("backup_pruned", {{"name", (*backups)[i].name}});
  }
}

}  // namespace dsar::ops
