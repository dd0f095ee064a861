#include "lib/privacy_requests/bundle.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "lib/connector/registry.h"
#include "lib/consent/purpose_catalog.h"
#include "lib/core/private_files.h"
#include "lib/core/status_macros.h"
#include "lib/privacy_requests/export_files.h"

namespace dsar::privacy_requests {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// Writes to the encrypted file and the digest at once.
class Out {
 public:
  Out(EncryptedWriter* writer, Sha256* sha) : writer_(writer), sha_(sha) {}
  absl::Status Emit(absl::string_view s) {
    sha_->Update(s);
    return writer_->Append(s);
  }

 private:
  EncryptedWriter* writer_;
  Sha256* sha_;
};

struct ManifestEntry {
  std::string category;
  std::string file;
  int64_t records = 0;
};

absl::StatusOr<std::vector<ManifestEntry>> ReadManifest(const std::string& dir) {
  std::ifstream in(dir + "/manifest.json");
  if (!in) return absl::DataLossError("an export part's manifest is missing");
  std::stringstream text;
  text << in.rdbuf();
  json m = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!m.is_object() || !m.contains("categories") || !m["categories"].is_array()) {
    return absl::DataLossError("an export part's manifest is malformed");
  }
  std::vector<ManifestEntry> out;
  for (const auto& c : m["categories"]) {
    if (!c.is_object()) continue;
    out.push_back({c.value("category", std::string()), c.value("file", std::string()),
                   c.value("records", int64_t{0})});
    if (out.back().file.find('/') != std::string::npos) {
      return absl::DataLossError("an export part's manifest is malformed");
    }
  }
  std::sort(out.begin(), out.end(),
            [](const ManifestEntry& a, const ManifestEntry& b) { return a.category < b.category; });
  return out;
}

json Information(const RequestEnv& env, const connector::ConnectorInfo* info,
                 const std::string& connector_name) {
  json recipients = json::array();
  json information = json::object();
  const CategoryNotice* notice = env.options.FindNotice(connector_name, "");
  const std::string display =
      info != nullptr && !info->display_name.empty() ? info->display_name : connector_name;
  if (info != nullptr) {
    information["purposes"] = info->purposes;
    information["categories"] = info->categories;
    if (!info->processor.empty()) {
      recipients.push_back(
          {{"name", info->processor}, {"role", "processor"}, {"country", info->country}});
    }
    for (const auto& sp : info->sub_processors) {
      recipients.push_back({{"name", sp.name},
                            {"role", "sub-processor"},
                            {"service", sp.service},
                            {"country", sp.country}});
    }
    information["storage_country"] = info->country;
  }
  information["recipients"] = std::move(recipients);
  information["retention"] = notice != nullptr && !notice->retention.empty()
                                 ? notice->retention
                                 : "not stated in the register; ask the controller";
  information["source"] = notice != nullptr && !notice->source.empty()
                              ? notice->source
                              : absl::StrCat("collected from you through ", display);
  return information;
}

absl::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", dir));
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot fsync ", dir));
}

}  // namespace

absl::StatusOr<BundleResult> AssembleBundle(const RequestEnv& env, const PrivacyRequest& r,
                                            const std::vector<SystemProgress>& tasks,
                                            const SecretKey& key, absl::Time now,
                                            std::string* lost_task,
                                            const std::string& own_records) {
  const ExportFiles files(env.options.export_dir);
  const std::string dir = files.RequestDir(r.tenant, r.id);
  if (absl::Status s = CreatePrivateDirectories(dir); !s.ok()) {
    return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", s.message()));
  }
  const std::string final_path = files.BundlePath(r.tenant, r.id);
  const std::string tmp_path = final_path + ".tmp";
  ASSIGN_OR_RETURN(std::unique_ptr<EncryptedWriter> writer, EncryptedWriter::Create(tmp_path, key));
  Sha256 sha;
  Out out(writer.get(), &sha);
  BundleResult result;

  json request = {{"name", r.name()},
                  {"type", RequestTypeName(r.type)},
                  {"receive_time", Rfc3339(r.received_at)}};
  json controller = {{"tenant", r.tenant}};
  if (env.catalog != nullptr) {
    if (const auto* t = env.catalog->FindTenant(r.tenant)) {
      if (!t->controller_name.empty()) controller["name"] = t->controller_name;
      if (!t->contact_email.empty()) controller["contact"] = t->contact_email;
      if (!t->policy_url.empty()) controller["privacy_notice"] = t->policy_url;
    }
  }
  RETURN_IF_ERROR(out.Emit(absl::StrCat(
      "{\"format\":\"dsar-export/1\",\"generated_time\":", Dump(Rfc3339(now)),
      ",\"request\":", Dump(request), ",\"controller\":", Dump(controller), ",\"rights\":",
      Dump("You may ask for rectification or erasure of this data, or "
           "restriction of or objection to its processing, and you may lodge "
           "a complaint with a supervisory authority (GDPR Art. 15(1)(e)-(f))."),
      ",\"systems\":[")));

  std::vector<const SystemProgress*> sorted;
  for (const auto& t : tasks) {
    if (t.phase == TaskPhase::kExport) sorted.push_back(&t);
  }
  std::sort(sorted.begin(), sorted.end(), [](const SystemProgress* a, const SystemProgress* b) {
    return a->connector < b->connector;
  });
  bool first_system = true;
  for (const SystemProgress* t : sorted) {
    const connector::ConnectorInfo* info =
        env.registry != nullptr ? env.registry->Find(t->connector) : nullptr;
    const bool done = t->state == connector::TaskState::kDone;
    std::vector<ManifestEntry> manifest;
    const std::string parts = files.PartsDir(r.tenant, r.id, t->task_id);
    if (done) {
      auto read = ReadManifest(parts);
      if (!read.ok()) {
        if (lost_task != nullptr) *lost_task = t->task_id;
        return read.status();
      }
      manifest = std::move(*read);
    }
    int64_t system_records = 0;
    for (const auto& m : manifest) system_records += m.records;
    json head = {
        {"system", t->connector},
        {"display_name",
         info != nullptr && !info->display_name.empty() ? info->display_name : t->connector},
        {"status", done ? "complete" : "skipped"},
        {"information", Information(env, info, t->connector)},
        {"record_count", system_records}};
    if (!done) head["skip_reason"] = t->skip_reason;
    std::string head_text = Dump(head);
    head_text.pop_back();  // reopen the object for "categories"
    RETURN_IF_ERROR(
        out.Emit(absl::StrCat(first_system ? "" : ",", head_text, ",\"categories\":[")));
    first_system = false;
    bool first_category = true;
    for (const auto& m : manifest) {
      json cat = {{"category", m.category}, {"record_count", m.records}};
      if (const CategoryNotice* n = env.options.FindNotice(t->connector, m.category);
          n != nullptr && !n->retention.empty()) {
        cat["retention"] = n->retention;
      }
      std::string cat_text = Dump(cat);
      cat_text.pop_back();
      RETURN_IF_ERROR(
          out.Emit(absl::StrCat(first_category ? "" : ",", cat_text, ",\"records\":[")));
      first_category = false;
      auto reader = EncryptedReader::Open(parts + "/" + m.file, key);
      if (!reader.ok()) {
        if (lost_task != nullptr) *lost_task = t->task_id;
        return reader.status().code() == absl::StatusCode::kNotFound
                   ? absl::DataLossError("an export part is missing")
                   : reader.status();
      }
      std::string chunk;
      for (;;) {
        auto more = (*reader)->Next(&chunk);
        if (!more.ok()) {
          if (lost_task != nullptr) *lost_task = t->task_id;
          return more.status();
        }
        if (!*more) break;
        RETURN_IF_ERROR(out.Emit(chunk));
      }
      sodium_memzero(chunk.data(), chunk.size());
      RETURN_IF_ERROR(out.Emit("]}"));
    }
    RETURN_IF_ERROR(out.Emit("]}"));
    result.records += system_records;
    ++result.systems;
  }
  RETURN_IF_ERROR(out.Emit("]"));
  if (!own_records.empty()) RETURN_IF_ERROR(out.Emit(absl::StrCat(",\"dsard\":", own_records)));
  RETURN_IF_ERROR(out.Emit(absl::StrCat(",\"record_count\":", result.records, "}")));
  result.size_bytes = writer->plaintext_bytes();
  RETURN_IF_ERROR(writer->Finish(/*sync=*/true));
  std::error_code ec;
  std::filesystem::rename(tmp_path, final_path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot move the bundle: ", ec.message()));
  RETURN_IF_ERROR(SyncDir(dir));
  result.sha256_hex = sha.HexDigest();
  return result;
}

}  // namespace dsar::privacy_requests
