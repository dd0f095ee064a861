// dsarctl audit ...: dsar.v1.AuditService.
#include "absl/strings/str_cat.h"
#include "dsar/v1/audit.grpc.pb.h"
#include "tools/dsarctl/commands.h"

namespace dsar::dsarctl {
namespace {

using v1::AuditService;

struct ListOptions {
  std::string page_token;
  int page_size = 0;
  bool all = false;
};

int List(Cli& cli, const ListOptions& o) {
  auto stub = AuditService::NewStub(cli.channel());
  v1::ListAuditEventsResponse merged;
  auto status = FetchPages(
      o.all, o.page_token,
      [&](const std::string& token, v1::ListAuditEventsResponse* page) {
        v1::ListAuditEventsRequest request;
        request.set_page_size(o.page_size);
        request.set_page_token(token);
        return stub->ListAuditEvents(cli.Context().get(), request, page);
      },
      &merged);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(merged) << "\n";
    return kExitOk;
  }
  Table table({"SEQ", "TIME", "PRINCIPAL", "ROLE", "METHOD", "RESOURCE", "OUTCOME", "REASON",
               "COUNT", "PEER", "REQUEST ID"});
  for (const auto& e : merged.events()) {
    table.AddRow({absl::StrCat(e.seq()), FormatTime(e.event_time()), e.principal(), e.role(),
                  e.method(), e.resource(), e.outcome(), e.reason(),
                  absl::StrCat(e.count() > 0 ? e.count() : 1), e.peer(), e.request_id()});
  }
  table.Print(cli.out());
  cli.MorePages(merged.next_page_token());
  return kExitOk;
}

// Exit 7 when the chain is broken.
int Verify(Cli& cli, bool full) {
  v1::VerifyAuditLogRequest request;
  request.set_full(full);
  v1::VerifyAuditLogResponse response;
  auto status =
      AuditService::NewStub(cli.channel())->VerifyAuditLog(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
  } else {
    PrintKeyValues(cli.out(),
                   {{"intact", YesNo(response.intact())},
                    {"from seq", absl::StrCat(response.from_seq())},
                    {"rows checked", absl::StrCat(response.rows_checked())},
                    {"first bad seq",
                     response.intact() ? std::string() : absl::StrCat(response.first_bad_seq())},
                    {"reason", response.reason()},
                    {"head hash", response.head_hash()}});
  }
  if (!response.intact()) {
    cli.err() << "dsarctl: audit chain is broken at seq " << response.first_bad_seq() << "\n";
    return kExitCheckFailed;
  }
  return kExitOk;
}

}  // namespace

void AddAuditCommands(CLI::App& app, Cli& cli) {
  CLI::App* group = app.add_subcommand("audit", "The hash-chained audit log");
  group->require_subcommand(1);

  auto list = std::make_shared<ListOptions>();
  CLI::App* l = group->add_subcommand("list", "Audit events of the tenant, oldest first");
  l->add_option("--page-size", list->page_size, "Events per page (1-1000, default 100)");
  l->add_option("--page-token", list->page_token, "Continue from a previous page");
  l->add_flag("--all", list->all, "Fetch every page");
  l->callback([&cli, list] { cli.SetAction([&cli, list] { return List(cli, *list); }); });

  auto full = std::make_shared<bool>(false);
  CLI::App* v = group->add_subcommand(
      "verify",
      "Verify the rows written since the last verification (--full: every row); exit 7 when a "
      "row was altered, deleted or reordered");
  v->add_flag("--full", *full, "Re-hash every row from the first (principals of all tenants)");
  v->callback([&cli, full] { cli.SetAction([&cli, full] { return Verify(cli, *full); }); });
}

}  // namespace dsar::dsarctl
