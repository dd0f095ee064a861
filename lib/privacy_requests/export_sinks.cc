#include "lib/privacy_requests/export_sinks.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/core/ids.h"
#include "lib/core/log.h"
#include "lib/core/private_files.h"
#include "lib/privacy_requests/export_crypto.h"
#include "lib/privacy_requests/export_files.h"
#include "lib/privacy_requests/request.h"
#include "lib/privacy_requests/request_rows.h"
#include "lib/store/store.h"

namespace dsar::privacy_requests {
namespace {

std::string Quote(absl::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Counts records and keeps nothing.
class DiscardSink final : public connector::ExportSink {
 public:
  absl::Status Add(connector::ExportedRecord) override { return absl::OkStatus(); }
  absl::Status Close() override { return absl::OkStatus(); }
};

// Writes one export task's records into per-category encrypted parts.
class PartSink final : public connector::ExportSink {
 public:
  PartSink(SecretKey key, std::string tmp_dir, std::string final_dir)
      : key_(std::move(key)), tmp_dir_(std::move(tmp_dir)), final_dir_(std::move(final_dir)) {}
  ~PartSink() override {
    parts_.clear();  // unfinished writers remove their files
    if (!closed_) {
      std::error_code ec;
      std::filesystem::remove_all(tmp_dir_, ec);
    }
  }

  absl::Status Add(connector::ExportedRecord record) override {
    Part* part = nullptr;
    for (auto& p : parts_) {
      if (p.category == record.category) {
        part = &p;
        break;
      }
    }
    if (part == nullptr) {
      if (parts_.size() >= 1000) {
        return absl::FailedPreconditionError("export has more than 1000 categories");
      }
      auto writer =
          EncryptedWriter::Create(absl::StrCat(tmp_dir_, "/", parts_.size(), ".part"), key_);
      if (!writer.ok()) return writer.status();
      parts_.push_back(
          {record.category, absl::StrCat(parts_.size(), ".part"), 0, std::move(*writer)});
      part = &parts_.back();
    }
    std::string json = RecordJson(record);
    if (part->records > 0) json.insert(0, ",");
    sodium_memzero(record.json.data(), record.json.size());
    absl::Status s = part->writer->Append(json);
    sodium_memzero(json.data(), json.size());
    ++part->records;
    return s;
  }

  absl::Status Close() override {
    // No fsync here: parts are intermediate. A part lost or torn by a crash
    // is detected when the bundle is built (authenticated encryption, final
    // tag, manifest) and that connector's export is sent again.
    nlohmann::json manifest = {{"categories", nlohmann::json::array()}};
    for (auto& p : parts_) {
      if (absl::Status s = p.writer->Finish(/*sync=*/false); !s.ok()) return s;
      manifest["categories"].push_back(
          {{"category", p.category}, {"file", p.file}, {"records", p.records}});
    }
    const std::string manifest_path = tmp_dir_ + "/manifest.json";
    {
      if (!EnsurePrivateFile(manifest_path).ok()) {
        return absl::InternalError("cannot write export manifest");
      }
      std::FILE* f = std::fopen(manifest_path.c_str(), "wbe");
      if (f == nullptr) return absl::InternalError("cannot write export manifest");
      const std::string text =
          manifest.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
      ok &= std::fclose(f) == 0;
      if (!ok) return absl::InternalError("cannot write export manifest");
    }
    std::error_code ec;
    std::filesystem::remove_all(final_dir_, ec);  // an earlier attempt's parts
    std::filesystem::rename(tmp_dir_, final_dir_, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot move export parts: ", ec.message()));
    closed_ = true;
    return absl::OkStatus();
  }

 private:
  struct Part {
    std::string category;
    std::string file;
    int64_t records = 0;
    std::unique_ptr<EncryptedWriter> writer;
  };
  SecretKey key_;
  std::string tmp_dir_;
  std::string final_dir_;
  std::vector<Part> parts_;
  bool closed_ = false;
};

// Checks an erasure's verification export: only records the erasure reported
// as kept may still be there.
class VerificationSink final : public connector::ExportSink {
 public:
  VerificationSink(std::string connector, absl::flat_hash_set<std::string> kept)
      : connector_(std::move(connector)), kept_(std::move(kept)) {}

  absl::Status Add(connector::ExportedRecord record) override {
    sodium_memzero(record.json.data(), record.json.size());
    if (kept_.contains(record.record_id)) return absl::OkStatus();
    // The message names the category only: record ids may be meaningful.
    return absl::FailedPreconditionError(absl::StrCat(
        "verification export of ", connector_, " still returned a record of category \"",
        record.category.substr(0, 64), "\" that the erasure did not report as kept"));
  }
  absl::Status Close() override { return absl::OkStatus(); }

 private:
  std::string connector_;
  absl::flat_hash_set<std::string> kept_;
};

}  // namespace

std::string RecordJson(const connector::ExportedRecord& record) {
  std::string out = absl::StrCat("{\"record_id\":", Quote(record.record_id));
  if (record.create_time != absl::InfinitePast()) {
    absl::StrAppend(
        &out, ",\"create_time\":",
        Quote(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", record.create_time, absl::UTCTimeZone())));
  }
  absl::StrAppend(&out, ",\"data\":");
  if (!record.json.empty() && nlohmann::json::accept(record.json)) {
    absl::StrAppend(&out, record.json);
  } else {
    absl::StrAppend(&out, Quote(record.json));
  }
  out.push_back('}');
  return out;
}

absl::StatusOr<std::unique_ptr<connector::ExportSink>> ExportSinks::Open(
    const connector::TaskInfo& task) {
  if (!absl::StartsWith(task.resource, kPrivacyRequestsCollection))
    return std::make_unique<DiscardSink>();
  const std::string id = task.resource.substr(kPrivacyRequestsCollection.size());
  std::optional<PrivacyRequest> r;
  std::optional<SystemProgress> row;
  std::optional<std::string> wrapped;
  std::vector<SystemProgress> tasks;
  absl::Status read = env_->store->Read([&](store::ReadTxn& txn) {
    r = rows::Load(txn, task.tenant, id);
    row = rows::LoadTask(txn, task.tenant, id, task.task_id);
    if (r.has_value() && row.has_value()) {
      if (row->phase == TaskPhase::kExport) wrapped = rows::LoadWrappedKey(txn, task.tenant, id);
      if (row->phase == TaskPhase::kVerify) tasks = rows::ListTasks(txn, task.tenant, id);
    }
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  if (!r.has_value() || !row.has_value() || !IsOpen(r->state)) {
    return std::make_unique<DiscardSink>();
  }
  if (row->phase == TaskPhase::kVerify) {
    absl::flat_hash_set<std::string> kept;
    for (const auto& t : tasks) {
      if (t.phase != TaskPhase::kErase || t.connector != row->connector) continue;
      for (const auto& k : t.kept) kept.insert(k.record_id);
    }
    return std::make_unique<VerificationSink>(row->connector, std::move(kept));
  }
  if (row->phase != TaskPhase::kExport) return std::make_unique<DiscardSink>();
  if (!wrapped.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(r->name(), ": the export key was destroyed"));
  }
  auto key = env_->key_wrapper->Unwrap(*wrapped, id);
  if (!key.ok()) return key.status();
  const ExportFiles files(env_->options.export_dir);
  const std::string final_dir = files.PartsDir(task.tenant, id, task.task_id);
  const std::string tmp_dir = absl::StrCat(final_dir, ".tmp-", NewId("w"));
  if (absl::Status s = CreatePrivateDirectories(tmp_dir); !s.ok()) {
    return absl::InternalError(absl::StrCat("cannot create export directory: ", s.message()));
  }
  return std::make_unique<PartSink>(std::move(*key), tmp_dir, final_dir);
}

}  // namespace dsar::privacy_requests
