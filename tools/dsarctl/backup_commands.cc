// dsarctl backup ...: dsar.v1.AdminService (admin role).
#include "absl/strings/str_cat.h"
#include "dsar/v1/admin.grpc.pb.h"
#include "tools/dsarctl/commands.h"

namespace dsar::dsarctl {
namespace {

using v1::AdminService;

KeyValues BackupValues(const v1::Backup& b) {
  return {{"name", b.name()},
          {"path", b.path()},
          {"size", absl::StrCat(HumanBytes(b.size_bytes()), " (", b.size_bytes(), " bytes)")},
          {"sha256", b.sha256()},
          {"created", FormatTime(b.create_time())},
          {"took", FormatDuration(b.duration())},
          {"schema version", absl::StrCat(b.schema_version())},
          {"audit head seq", absl::StrCat(b.audit_head_seq())},
          {"audit head hash", b.audit_head_hash()},
          {"trigger", b.trigger()}};
}

struct CreateOptions {
  std::string request_id;
};

int Create(Cli& cli, const CreateOptions& o) {
  v1::CreateBackupRequest request;
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  v1::CreateBackupResponse response;
  auto status =
      AdminService::NewStub(cli.channel())->CreateBackup(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
  } else {
    PrintKeyValues(cli.out(), BackupValues(response.backup()));
  }
  return kExitOk;
}

int List(Cli& cli) {
  v1::ListBackupsResponse response;
  auto status =
      AdminService::NewStub(cli.channel())->ListBackups(cli.Context().get(), {}, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
    return kExitOk;
  }
  cli.out() << "directory: " << response.directory() << "\n";
  Table table({"NAME", "CREATED", "SIZE", "TRIGGER", "AUDIT SEQ", "SHA256"});
  for (const auto& b : response.backups()) {
    table.AddRow({b.name(), FormatTime(b.create_time()), HumanBytes(b.size_bytes()), b.trigger(),
                  absl::StrCat(b.audit_head_seq()), b.sha256()});
  }
  table.Print(cli.out());
  return kExitOk;
}

}  // namespace

void AddBackupCommands(CLI::App& app, Cli& cli) {
  CLI::App* group = app.add_subcommand(
      "backup", "Online backups of dsard's database (admin role); restore: docs/operations.md");
  group->require_subcommand(1);

  auto create = std::make_shared<CreateOptions>();
  CLI::App* c = group->add_subcommand(
      "create", "Copy the database while dsard serves, into its backup directory");
  c->add_option("--request-id", create->request_id, "Request id for the audit log");
  c->callback([&cli, create] { cli.SetAction([&cli, create] { return Create(cli, *create); }); });

  CLI::App* l = group->add_subcommand("list", "Backups in dsard's backup directory, newest first");
  l->callback([&cli] { cli.SetAction([&cli] { return List(cli); }); });
}

}  // namespace dsar::dsarctl
