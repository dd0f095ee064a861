// dsarctl breaches ...: dsar.v1.BreachService.
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dsar/v1/breach.grpc.pb.h"
#include "tools/dsarctl/commands.h"

namespace dsar::dsarctl {
namespace {

using v1::BreachService;

constexpr absl::string_view kCollection = "breaches/";

std::string FullName(const std::string& name) {
  return absl::StartsWith(name, kCollection) ? name : absl::StrCat(kCollection, name);
}

std::string ShortName(absl::string_view name) {
  absl::ConsumePrefix(&name, kCollection);
  return std::string(name);
}

absl::Status ReadText(const std::string& path, std::string* out) {
  std::stringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) return absl::InvalidArgumentError(path + ": cannot open");
    buffer << in.rdbuf();
  }
  *out = buffer.str();
  return absl::OkStatus();
}

// Proto JSON (as printed by --output json) from a file or stdin.
absl::Status ReadJson(const std::string& path, google::protobuf::Message* message) {
  std::string text;
  if (auto s = ReadText(path, &text); !s.ok()) return s;
  auto status = google::protobuf::util::JsonStringToMessage(text, message);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a ",
                                                   message->GetDescriptor()->full_name(),
                                                   " in JSON: ", std::string(status.message())));
  }
  return absl::OkStatus();
}

std::string Count(const v1::BreachDetails& d, bool subjects) {
  if (subjects)
    return d.has_approx_subject_count() ? absl::StrCat("~", d.approx_subject_count()) : "";
  return d.has_approx_record_count() ? absl::StrCat("~", d.approx_record_count()) : "";
}

void PrintBreach(Cli& cli, const v1::Breach& b) {
  const v1::BreachDetails& d = b.details();
  std::vector<std::string> types;
  for (int t : d.types()) types.push_back(EnumLabel(v1::BreachType_descriptor(), t));
  PrintKeyValues(
      cli.out(),
      {{"breach", ShortName(b.name())},
       {"title", d.title()},
       {"state", EnumLabel(v1::BreachState_descriptor(), b.state())},
       {"aware", FormatTime(b.aware_time())},
       {"reported", absl::StrCat(FormatTime(b.report_time()), " by ", b.reported_by())},
       {"version", absl::StrCat(b.version())},
       {"types", absl::StrJoin(types, ", ")},
       {"nature", d.nature()},
       {"subjects", absl::StrCat(Count(d, true), " ", absl::StrJoin(d.subject_categories(), ", "))},
       {"records", absl::StrCat(Count(d, false), " ", absl::StrJoin(d.record_categories(), ", "))},
       {"systems", absl::StrJoin(d.affected_systems(), ", ")},
       {"contact point", d.contact_point()},
       {"likely consequences", d.likely_consequences()},
       {"measures", d.measures_taken()},
       {"risk", EnumLabel(v1::RiskAssessment_descriptor(), d.risk_assessment())},
       {"subjects notified?",
        EnumLabel(v1::SubjectNotificationDecision_descriptor(), d.subject_notification_decision())},
       {"notification overdue", YesNo(b.notification_overdue())},
       {"closed", b.close_time().seconds() == 0
                      ? ""
                      : absl::StrCat(FormatTime(b.close_time()), " by ", b.closed_by())}});
  if (b.affected_tenants_size() > 0) {
    cli.out() << "\n";
    Table tenants({"TENANT", "AWARE", "DUE", "CONTROLLER NOTIFIED", "AUTHORITY NOTIFIED",
                   "SUBJECTS NOTIFIED", "OVERDUE"});
    for (const auto& t : b.affected_tenants()) {
      tenants.AddRow({t.tenant(), FormatTime(t.aware_time()), FormatTime(t.notification_due_time()),
                      FormatTime(t.controller_notify_time()), FormatTime(t.authority_notify_time()),
                      FormatTime(t.subjects_notify_time()), YesNo(t.notification_overdue())});
    }
    tenants.Print(cli.out());
    cli.out() << "\n";
    Table clocks({"TENANT", "CLOCK", "STATE", "STARTED", "DUE", "EXEMPT SINCE", "DEADLINE"});
    for (const auto& t : b.affected_tenants()) {
      auto row = [&](const char* name, const v1::BreachClock& c) {
        clocks.AddRow({t.tenant(), name, EnumLabel(v1::BreachClockState_descriptor(), c.state()),
                       FormatTime(c.start_time()), FormatTime(c.due_time()),
                       FormatTime(c.exempt_time()), c.deadline()});
      };
      row("authority (Art. 33(1))", t.authority_clock());
      row("data subjects (Art. 34)", t.subject_clock());
    }
    clocks.Print(cli.out());
  }
  if (b.notifications_size() > 0) {
    cli.out() << "\n";
    Table notes(
        {"TIME", "TENANT", "RECIPIENT", "CHANNEL", "REFERENCE", "VERSION", "LATE", "DELAY REASON"});
    for (const auto& n : b.notifications()) {
      notes.AddRow({FormatTime(n.notify_time()), n.tenant(),
                    EnumLabel(v1::NotificationRecipient_descriptor(), n.recipient()), n.channel(),
                    n.reference(), absl::StrCat(n.content_version()), YesNo(n.late()),
                    n.delay_reason()});
    }
    notes.Print(cli.out());
  }
}

template <typename Response>
int PrintOne(Cli& cli, const Response& response) {
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
  } else {
    PrintBreach(cli, response.breach());
  }
  return kExitOk;
}

struct ListOptions {
  std::string state, tenant, page_token;
  bool overdue = false;
  int page_size = 0;
  bool all = false;
};

int List(Cli& cli, const ListOptions& o) {
  v1::ListBreachesRequest base;
  if (!o.state.empty()) {
    base.set_state(
        static_cast<v1::BreachState>(*ParseEnumLabel(v1::BreachState_descriptor(), o.state)));
  }
  base.set_tenant(o.tenant);
  base.set_notification_overdue_only(o.overdue);
  base.set_page_size(o.page_size);
  auto stub = BreachService::NewStub(cli.channel());
  v1::ListBreachesResponse merged;
  auto status = FetchPages(
      o.all, o.page_token,
      [&](const std::string& token, v1::ListBreachesResponse* page) {
        v1::ListBreachesRequest request = base;
        request.set_page_token(token);
        return stub->ListBreaches(cli.Context().get(), request, page);
      },
      &merged);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(merged) << "\n";
    return kExitOk;
  }
  Table table({"BREACH", "STATE", "AWARE", "TITLE", "TENANTS", "VERSION", "OVERDUE"});
  for (const auto& b : merged.breaches()) {
    std::vector<std::string> tenants;
    for (const auto& t : b.affected_tenants()) tenants.push_back(t.tenant());
    table.AddRow({ShortName(b.name()), EnumLabel(v1::BreachState_descriptor(), b.state()),
                  FormatTime(b.aware_time()), b.details().title(), absl::StrJoin(tenants, ","),
                  absl::StrCat(b.version()), YesNo(b.notification_overdue())});
  }
  table.Print(cli.out());
  cli.MorePages(merged.next_page_token());
  return kExitOk;
}

int Show(Cli& cli, const std::string& name) {
  v1::GetBreachRequest request;
  request.set_name(FullName(name));
  v1::GetBreachResponse response;
  auto status =
      BreachService::NewStub(cli.channel())->GetBreach(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  return PrintOne(cli, response);
}

struct ReportOptions {
  std::string file, aware_at, request_id;
  std::vector<std::string> tenants;
};

// The file is a ReportBreachRequest in proto JSON: {"awareTime": ...,
// "details": {...}, "affectedTenants": [...]}; flags override or add.
int Report(Cli& cli, const ReportOptions& o) {
  v1::ReportBreachRequest request;
  if (auto s = ReadJson(o.file, &request); !s.ok()) return cli.Usage(std::string(s.message()));
  if (!o.request_id.empty()) request.set_request_id(o.request_id);
  if (request.request_id().empty()) request.set_request_id(Cli::NewRequestId());
  if (!o.aware_at.empty()) {
    absl::Time t;
    if (!ParseTimeFlag(o.aware_at, &t)) return cli.Usage("--aware-at: expected RFC 3339");
    SetTimestamp(t, request.mutable_aware_time());
  }
  for (const auto& t : o.tenants) request.add_affected_tenants(t);
  v1::ReportBreachResponse response;
  auto status =
      BreachService::NewStub(cli.channel())->ReportBreach(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  return PrintOne(cli, response);
}

struct UpdateOptions {
  std::string name, file, mask, note, request_id;
  std::vector<std::string> add_tenants;
};

// The file is a BreachDetails in proto JSON; without --mask, the fields it
// names are the ones updated (so a phased update sends only what is new).
int Update(Cli& cli, const UpdateOptions& o) {
  v1::UpdateBreachRequest request;
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  request.set_name(FullName(o.name));
  request.set_change_note(o.note);
  for (const auto& t : o.add_tenants) request.add_add_affected_tenants(t);
  if (!o.file.empty()) {
    std::string text;
    if (auto s = ReadText(o.file, &text); !s.ok()) return cli.Usage(std::string(s.message()));
    auto status = google::protobuf::util::JsonStringToMessage(text, request.mutable_details());
    if (!status.ok()) {
      return cli.Usage(absl::StrCat(
          o.file, ": not a dsar.v1.BreachDetails in JSON: ", std::string(status.message())));
    }
    if (o.mask.empty()) {
      auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      const auto* type = v1::BreachDetails::descriptor();
      for (const auto& [key, value] : json.items()) {
        for (int i = 0; i < type->field_count(); ++i) {
          const auto* field = type->field(i);
          if (field->json_name() == key || field->name() == key) {
            request.mutable_update_mask()->add_paths(field->name());
          }
        }
      }
    }
  }
  for (absl::string_view path : absl::StrSplit(o.mask, ',', absl::SkipEmpty())) {
    request.mutable_update_mask()->add_paths(std::string(absl::StripAsciiWhitespace(path)));
  }
  v1::UpdateBreachResponse response;
  auto status =
      BreachService::NewStub(cli.channel())->UpdateBreach(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  return PrintOne(cli, response);
}

struct NotifyOptions {
  std::string name, tenant, recipient, channel, reference, notified_at, delay_reason, request_id;
  int content_version = 0;
};

int Notify(Cli& cli, const NotifyOptions& o) {
  v1::RecordNotificationRequest request;
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  request.set_name(FullName(o.name));
  request.set_tenant(o.tenant);
  request.set_recipient(static_cast<v1::NotificationRecipient>(
      *ParseEnumLabel(v1::NotificationRecipient_descriptor(), o.recipient)));
  request.set_channel(o.channel);
  request.set_reference(o.reference);
  request.set_content_version(o.content_version);
  request.set_delay_reason(o.delay_reason);
  if (!o.notified_at.empty()) {
    absl::Time t;
    if (!ParseTimeFlag(o.notified_at, &t)) return cli.Usage("--notified-at: expected RFC 3339");
    SetTimestamp(t, request.mutable_notify_time());
  }
  v1::RecordNotificationResponse response;
  auto status = BreachService::NewStub(cli.channel())
                    ->RecordNotification(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
    return kExitOk;
  }
  const auto& n = response.notification();
  PrintKeyValues(cli.out(),
                 {{"notification", n.name()},
                  {"tenant", n.tenant()},
                  {"recipient", EnumLabel(v1::NotificationRecipient_descriptor(), n.recipient())},
                  {"notified", FormatTime(n.notify_time())},
                  {"channel", n.channel()},
                  {"reference", n.reference()},
                  {"content version", absl::StrCat(n.content_version())},
                  {"late", YesNo(n.late())},
                  {"delay reason", n.delay_reason()},
                  {"recorded by", n.recorded_by()}});
  return kExitOk;
}

struct CloseOptions {
  std::string name, note, request_id;
};

int Close(Cli& cli, const CloseOptions& o) {
  v1::CloseBreachRequest request;
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  request.set_name(FullName(o.name));
  request.set_close_note(o.note);
  v1::CloseBreachResponse response;
  auto status =
      BreachService::NewStub(cli.channel())->CloseBreach(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  return PrintOne(cli, response);
}

struct ExportOptions {
  std::string name, format = "markdown", tenant, to;
};

// The Art. 33 report document: printed, or written to --to.
int Export(Cli& cli, const ExportOptions& o) {
  v1::ExportBreachReportRequest request;
  request.set_name(FullName(o.name));
  request.set_format(static_cast<v1::BreachReportFormat>(
      *ParseEnumLabel(v1::BreachReportFormat_descriptor(), o.format)));
  request.set_tenant(o.tenant);
  v1::ExportBreachReportResponse response;
  auto status = BreachService::NewStub(cli.channel())
                    ->ExportBreachReport(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (o.to.empty()) {
    cli.out() << response.content();
    if (!absl::EndsWith(response.content(), "\n")) cli.out() << "\n";
    return kExitOk;
  }
  std::ofstream out(o.to, std::ios::binary | std::ios::trunc);
  out << response.content();
  if (!out.flush()) return cli.Error(kExitError, o.to + ": cannot write");
  cli.err() << "wrote " << o.to << " (" << response.media_type() << ")\n";
  return kExitOk;
}

CLI::Validator EnumChoice(const google::protobuf::EnumDescriptor* type) {
  return CLI::IsMember(EnumLabels(type));
}

}  // namespace

void AddBreachCommands(CLI::App& app, Cli& cli) {
  CLI::App* group = app.add_subcommand(
      "breaches",
      "Breach register (Art. 33/34): list, show, report, update, notify, close, export");
  group->require_subcommand(1);

  auto list = std::make_shared<ListOptions>();
  CLI::App* l = group->add_subcommand("list", "Breaches affecting the tenant, newest first");
  l->add_option("--state", list->state, "open or closed")
      ->check(EnumChoice(v1::BreachState_descriptor()));
  l->add_option("--for-tenant", list->tenant, "Only breaches affecting this tenant");
  l->add_flag("--overdue", list->overdue, "Only those with a notification overdue");
  l->add_option("--page-size", list->page_size, "Breaches per page");
  l->add_option("--page-token", list->page_token, "Continue from a previous page");
  l->add_flag("--all", list->all, "Fetch every page");
  l->callback([&cli, list] { cli.SetAction([&cli, list] { return List(cli, *list); }); });

  auto show = std::make_shared<std::string>();
  CLI::App* s = group->add_subcommand("show", "One breach with its tenants and notifications");
  s->add_option("name", *show, "Breach id or breaches/<id>")->required();
  s->callback([&cli, show] { cli.SetAction([&cli, show] { return Show(cli, *show); }); });

  auto report = std::make_shared<ReportOptions>();
  CLI::App* r = group->add_subcommand(
      "report", "Report a breach from a JSON file (a dsar.v1.ReportBreachRequest)");
  r->add_option("--file", report->file, "JSON file, or - for stdin")->required();
  r->add_option("--aware-at", report->aware_at, "When you became aware (overrides the file)");
  r->add_option("--affected-tenant", report->tenants,
                "An affected tenant (repeatable; adds to the file's)");
  r->add_option("--request-id", report->request_id,
                "Idempotency key (default: the file's, or fresh)");
  r->callback([&cli, report] { cli.SetAction([&cli, report] { return Report(cli, *report); }); });

  auto update = std::make_shared<UpdateOptions>();
  CLI::App* u = group->add_subcommand(
      "update", "Add information (phased): the fields in a BreachDetails JSON file");
  u->add_option("name", update->name, "Breach id")->required();
  u->add_option("--file", update->file, "BreachDetails JSON, or - for stdin");
  u->add_option("--mask", update->mask, "Fields to update, comma-separated (default: the file's)");
  u->add_option("--add-tenant", update->add_tenants, "Another affected tenant (repeatable)");
  u->add_option("--note", update->note, "What changed (no personal data)");
  u->add_option("--request-id", update->request_id, "Idempotency key (default: a fresh one)");
  u->callback([&cli, update] { cli.SetAction([&cli, update] { return Update(cli, *update); }); });

  auto notify = std::make_shared<NotifyOptions>();
  CLI::App* n = group->add_subcommand(
      "notify", "Record a notification of a controller, the authority or the data subjects");
  n->add_option("name", notify->name, "Breach id")->required();
  n->add_option("--for-tenant", notify->tenant, "Tenant (controller) it was made for")->required();
  n->add_option("--recipient", notify->recipient, "Who was notified")
      ->required()
      ->check(EnumChoice(v1::NotificationRecipient_descriptor()));
  n->add_option("--channel", notify->channel, "How, e.g. email, authority-portal")->required();
  n->add_option("--reference", notify->reference, "Case, ticket or message id");
  n->add_option("--notified-at", notify->notified_at, "When (default now)");
  n->add_option("--content-version", notify->content_version,
                "Version of the breach information communicated (default current)");
  n->add_option("--delay-reason", notify->delay_reason, "Reasons for a delay beyond 72 hours");
  n->add_option("--request-id", notify->request_id, "Idempotency key (default: a fresh one)");
  n->callback([&cli, notify] { cli.SetAction([&cli, notify] { return Notify(cli, *notify); }); });

  auto close = std::make_shared<CloseOptions>();
  CLI::App* c = group->add_subcommand("close", "Close a breach");
  c->add_option("name", close->name, "Breach id")->required();
  c->add_option("--note", close->note, "Closing note (no personal data)");
  c->add_option("--request-id", close->request_id, "Idempotency key (default: a fresh one)");
  c->callback([&cli, close] { cli.SetAction([&cli, close] { return Close(cli, *close); }); });

  auto exported = std::make_shared<ExportOptions>();
  CLI::App* e = group->add_subcommand("export", "The breach report document (markdown or json)");
  e->add_option("name", exported->name, "Breach id")->required();
  e->add_option("--format", exported->format, "markdown (default) or json")
      ->check(EnumChoice(v1::BreachReportFormat_descriptor()));
  e->add_option("--for-tenant", exported->tenant, "The report as for this controller");
  e->add_option("--to", exported->to, "Write to this file instead of stdout");
  e->callback(
      [&cli, exported] { cli.SetAction([&cli, exported] { return Export(cli, *exported); }); });
}

}  // namespace dsar::dsarctl
