// dsarctl deadlines ...: dsar.v1.DeadlineService.
#include <signal.h>

#include <atomic>
#include <thread>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "dsar/v1/deadline.grpc.pb.h"
#include "tools/dsarctl/commands.h"

namespace dsar::dsarctl {
namespace {

using v1::DeadlineService;

std::string Id(absl::string_view name, absl::string_view collection) {
  absl::ConsumePrefix(&name, collection);
  return std::string(name);
}

struct ListOptions {
  std::string kind, state, within, page_token;
  bool overdue = false;
  int page_size = 0;
  bool all = false;
};

int List(Cli& cli, const ListOptions& o) {
  v1::ListDeadlinesRequest base;
  base.set_kind(o.kind);
  base.set_overdue_only(o.overdue);
  base.set_page_size(o.page_size);
  if (!o.state.empty()) {
    auto state = ParseEnumLabel(v1::DeadlineState_descriptor(), o.state);
    if (!state) return cli.Usage("--state: unknown value " + o.state);
    base.set_state(static_cast<v1::DeadlineState>(*state));
  }
  if (!o.within.empty()) {
    absl::Duration within;
    if (!absl::ParseDuration(o.within, &within) || within <= absl::ZeroDuration()) {
      return cli.Usage("--within: expected a positive duration such as 24h");
    }
    SetDuration(within, base.mutable_due_within());
  }
  auto stub = DeadlineService::NewStub(cli.channel());
  v1::ListDeadlinesResponse merged;
  auto status = FetchPages(
      o.all, o.page_token,
      [&](const std::string& token, v1::ListDeadlinesResponse* page) {
        v1::ListDeadlinesRequest request = base;
        request.set_page_token(token);
        return stub->ListDeadlines(cli.Context().get(), request, page);
      },
      &merged);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(merged) << "\n";
    return kExitOk;
  }
  Table table({"DEADLINE", "KIND", "RESOURCE", "STATE", "DUE", "OVERDUE", "PAUSED", "EXTENSIONS",
               "ALERTS", "NEXT ALERT"});
  for (const auto& d : merged.deadlines()) {
    table.AddRow({Id(d.name(), "deadlines/"), d.kind(), d.resource(),
                  EnumLabel(v1::DeadlineState_descriptor(), d.state()), FormatTime(d.due_time()),
                  YesNo(d.overdue()), YesNo(d.paused()), absl::StrCat(d.extension_count()),
                  absl::StrCat(d.alerts_fired()), FormatTime(d.next_alert_time())});
  }
  table.Print(cli.out());
  cli.MorePages(merged.next_page_token());
  return kExitOk;
}

struct SlaOptions {
  std::string from, to, kind;
  bool all_tenants = false;
};

int Sla(Cli& cli, const SlaOptions& o) {
  v1::GetSlaReportRequest request;
  request.set_kind(o.kind);
  request.set_all_tenants(o.all_tenants);
  for (auto [flag, text, field] : {std::make_tuple("--from", &o.from, request.mutable_start_time()),
                                   std::make_tuple("--to", &o.to, request.mutable_end_time())}) {
    if (text->empty()) continue;
    absl::Time t;
    if (!ParseTimeFlag(*text, &t)) {
      return cli.Usage(absl::StrCat(flag, ": expected RFC 3339 or YYYY-MM-DD"));
    }
    SetTimestamp(t, field);
  }
  if (o.from.empty()) request.clear_start_time();
  if (o.to.empty()) request.clear_end_time();
  v1::GetSlaReportResponse response;
  auto status = DeadlineService::NewStub(cli.channel())
                    ->GetSlaReport(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
    return kExitOk;
  }
  cli.out() << "window: " << FormatTime(response.start_time()) << " .. "
            << FormatTime(response.end_time()) << "\n";
  Table table({"TENANT", "KIND", "TYPE", "COMPLETED", "ON TIME", "RATE", "CANCELLED", "OPEN",
               "OVERDUE", "P50", "P90", "P99"});
  for (const auto& k : response.kinds()) {
    table.AddRow({k.tenant(), k.kind(), k.request_type(), absl::StrCat(k.completed_count()),
                  absl::StrCat(k.completed_on_time_count()),
                  k.completed_count() == 0 ? "-" : Percent(k.on_time_rate()),
                  absl::StrCat(k.cancelled_count()), absl::StrCat(k.open_count()),
                  absl::StrCat(k.overdue_count()), FormatDuration(k.time_to_close_p50()),
                  FormatDuration(k.time_to_close_p90()), FormatDuration(k.time_to_close_p99())});
  }
  table.Print(cli.out());
  return kExitOk;
}

struct WatchOptions {
  int64_t after_sequence = 0;
  int count = 0;
};

// Streams alerts until the server ends the stream, --count alerts arrived, or
// SIGINT/SIGTERM (a clean stop: exit 0).
int Watch(Cli& cli, const WatchOptions& o) {
  // Block the stop signals before gRPC starts its threads (they inherit the
  // mask); a helper thread turns one into a cancellation. It is detached: the
  // process exits after the stream ends.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  v1::WatchAlertsRequest request;
  request.set_after_sequence(o.after_sequence);
  auto ctx = cli.Context(/*streaming=*/true);
  static std::atomic<bool> stopped_by_signal{false};
  std::thread([c = ctx.get(), set] {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) {
      stopped_by_signal = true;
      c->TryCancel();
    }
  }).detach();
  auto stub = DeadlineService::NewStub(cli.channel());
  auto reader = stub->WatchAlerts(ctx.get(), request);
  if (!cli.json()) {
    cli.out() << absl::StrFormat("%-8s  %-20s  %-12s  %-32s  %-40s  %-20s  %s\n", "SEQ", "FIRED",
                                 "LEVEL", "KIND", "RESOURCE", "DUE", "ALERT")
              << std::flush;
  }
  v1::WatchAlertsResponse response;
  int received = 0;
  while (reader->Read(&response)) {
    const v1::Alert& a = response.alert();
    if (cli.json()) {
      cli.out() << ToJson(response, /*pretty=*/false) << "\n";
    } else {
      cli.out() << absl::StrFormat("%-8d  %-20s  %-12s  %-32s  %-40s  %-20s  %s\n", a.sequence(),
                                   FormatTime(a.fire_time()), a.level_label(), a.kind(),
                                   a.resource(), FormatTime(a.due_time()), Id(a.name(), "alerts/"));
    }
    cli.out() << std::flush;
    if (o.count > 0 && ++received >= o.count) {
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  // The signal thread may still hold the context: leave it alive until exit.
  (void)ctx.release();
  if (o.count > 0 && received >= o.count) return kExitOk;
  if (stopped_by_signal) return kExitOk;
  if (!status.ok()) return cli.Fail(status);
  return kExitOk;
}

struct AckOptions {
  std::string alert, request_id;
};

int Ack(Cli& cli, const AckOptions& o) {
  v1::AcknowledgeAlertRequest request;
  request.set_name(absl::StartsWith(o.alert, "alerts/") ? o.alert : "alerts/" + o.alert);
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  v1::AcknowledgeAlertResponse response;
  auto status = DeadlineService::NewStub(cli.channel())
                    ->AcknowledgeAlert(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
    return kExitOk;
  }
  const v1::Alert& a = response.alert();
  PrintKeyValues(cli.out(), {{"alert", Id(a.name(), "alerts/")},
                             {"sequence", absl::StrCat(a.sequence())},
                             {"deadline", Id(a.deadline(), "deadlines/")},
                             {"kind", a.kind()},
                             {"resource", a.resource()},
                             {"level", a.level_label()},
                             {"due", FormatTime(a.due_time())},
                             {"fired", FormatTime(a.fire_time())},
                             {"acknowledged", FormatTime(a.acknowledge_time())},
                             {"acknowledged by", a.acknowledged_by()}});
  return kExitOk;
}

void AddPaging(CLI::App* sub, ListOptions* o) {
  sub->add_option("--kind", o->kind,
                  "Only this kind: request.processor, request.gdpr, "
                  "breach.controller_notification, breach.authority_notification, "
                  "breach.subject_communication, consent.withdrawal_propagation, "
                  "connector.task_dead");
  sub->add_option("--page-size", o->page_size, "Deadlines per page (1-1000, default 50)");
  sub->add_option("--page-token", o->page_token, "Continue from a previous page");
  sub->add_flag("--all", o->all, "Fetch every page");
}

}  // namespace

void AddDeadlineCommands(CLI::App& app, Cli& cli) {
  CLI::App* group = app.add_subcommand(
      "deadlines", "Deadlines and alerts: due soon, overdue, SLA report, live alerts");
  group->require_subcommand(1);

  auto list = std::make_shared<ListOptions>();
  CLI::App* l = group->add_subcommand("list", "Deadlines in due-time order (open by default)");
  l->add_option("--state", list->state, "open, completed or cancelled")
      ->check(CLI::IsMember(EnumLabels(v1::DeadlineState_descriptor())));
  l->add_option("--within", list->within, "Only those due within this duration, e.g. 24h");
  l->add_flag("--overdue", list->overdue, "Only open deadlines past their due time");
  AddPaging(l, list.get());
  l->callback([&cli, list] { cli.SetAction([&cli, list] { return List(cli, *list); }); });

  auto soon = std::make_shared<ListOptions>();
  soon->within = "24h";
  CLI::App* s =
      group->add_subcommand("due-soon", "Open deadlines due within --within (and overdue ones)");
  s->add_option("--within", soon->within, "Horizon (default 24h)");
  AddPaging(s, soon.get());
  s->callback([&cli, soon] { cli.SetAction([&cli, soon] { return List(cli, *soon); }); });

  auto overdue = std::make_shared<ListOptions>();
  overdue->overdue = true;
  CLI::App* o = group->add_subcommand("overdue", "Open deadlines past their due time");
  AddPaging(o, overdue.get());
  o->callback([&cli, overdue] { cli.SetAction([&cli, overdue] { return List(cli, *overdue); }); });

  auto sla = std::make_shared<SlaOptions>();
  CLI::App* r = group->add_subcommand(
      "sla", "On-time rate and time to close per kind (and request type), at most 400 days");
  r->add_option("--from", sla->from,
                "Window start (RFC 3339 or YYYY-MM-DD; default 30 days before --to)");
  r->add_option("--to", sla->to, "Window end (default now)");
  r->add_option("--kind", sla->kind, "Only this kind");
  r->add_flag("--all-tenants", sla->all_tenants,
              "Every tenant, and their sum as tenant * (principals of all tenants)");
  r->callback([&cli, sla] { cli.SetAction([&cli, sla] { return Sla(cli, *sla); }); });

  auto watch = std::make_shared<WatchOptions>();
  CLI::App* w = group->add_subcommand(
      "watch", "Stream alerts as they fire (Ctrl-C stops); JSON output is one object per line");
  w->add_option("--after-sequence", watch->after_sequence,
                "Resume after this alert sequence (0: every alert from the start)");
  w->add_option("--count", watch->count, "Stop after this many alerts");
  w->callback([&cli, watch] { cli.SetAction([&cli, watch] { return Watch(cli, *watch); }); });

  auto ack = std::make_shared<AckOptions>();
  CLI::App* a = group->add_subcommand("ack", "Acknowledge an alert");
  a->add_option("alert", ack->alert, "Alert id or alerts/<id>")->required();
  a->add_option("--request-id", ack->request_id, "Idempotency key (default: a fresh one)");
  a->callback([&cli, ack] { cli.SetAction([&cli, ack] { return Ack(cli, *ack); }); });
}

}  // namespace dsar::dsarctl
