// dsarctl connectors ...: dsar.v1.ConnectorService.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "dsar/v1/connector_admin.grpc.pb.h"
#include "tools/dsarctl/commands.h"

namespace dsar::dsarctl {
namespace {

using v1::ConnectorService;

int List(Cli& cli) {
  v1::ListConnectorsResponse response;
  auto status =
      ConnectorService::NewStub(cli.channel())->ListConnectors(cli.Context().get(), {}, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
    return kExitOk;
  }
  Table table({"NAME", "SYSTEM", "ADDRESS", "TLS", "TENANT", "COUNTRY", "PROCESSOR", "PURPOSES",
               "CATEGORIES", "SUB-PROCESSORS"});
  for (const auto& c : response.connectors()) {
    std::vector<std::string> subs;
    for (const auto& sp : c.sub_processors())
      subs.push_back(absl::StrCat(sp.name(), " (", sp.country(), ")"));
    table.AddRow({c.name(), c.display_name(), c.address(), YesNo(c.tls()),
                  c.tenant().empty() ? "*" : c.tenant(), c.country(), c.processor(),
                  absl::StrJoin(c.purposes(), ","), absl::StrJoin(c.categories(), ","),
                  absl::StrJoin(subs, ", ")});
  }
  table.Print(cli.out());
  return kExitOk;
}

struct HealthOptions {
  std::vector<std::string> names;
};

// One connector's health, or every configured connector's when no name is
// given. JSON: the GetConnectorHealthResponse for one name, else
// {"connectors": [...]}.
int Health(Cli& cli, const HealthOptions& o) {
  auto stub = ConnectorService::NewStub(cli.channel());
  std::vector<std::string> names = o.names;
  if (names.empty()) {
    v1::ListConnectorsResponse listed;
    auto status = stub->ListConnectors(cli.Context().get(), {}, &listed);
    if (!status.ok()) return cli.Fail(status);
    for (const auto& c : listed.connectors()) names.push_back(c.name());
  }
  std::vector<v1::GetConnectorHealthResponse> healths;
  for (const auto& name : names) {
    v1::GetConnectorHealthRequest request;
    request.set_name(name);
    v1::GetConnectorHealthResponse response;
    auto status = stub->GetConnectorHealth(cli.Context().get(), request, &response);
    if (!status.ok()) return cli.Fail(status);
    healths.push_back(std::move(response));
  }
  if (cli.json()) {
    if (o.names.size() == 1) {
      cli.out() << ToJson(healths[0]) << "\n";
    } else {
      std::vector<std::string> items;
      for (const auto& h : healths) items.push_back(ToJson(h, /*pretty=*/false));
      cli.out() << "{\"connectors\":[" << absl::StrJoin(items, ",") << "]}\n";
    }
    return kExitOk;
  }
  Table table({"NAME", "REACHABLE", "BREAKER", "ERROR RATE", "IN FLIGHT", "CALLS", "FAILURES",
               "LAST SUCCESS", "LAST FAILURE", "LAST ERROR", "LAST PROBE", "VERSION"});
  for (const auto& h : healths) {
    std::string last_error = h.last_error().empty() ? h.probe_error() : h.last_error();
    table.AddRow({h.name(), YesNo(h.reachable()),
                  EnumLabel(v1::CircuitBreakerState_descriptor(), h.breaker_state()),
                  h.window_calls() == 0 ? "-" : Percent(h.error_rate()),
                  absl::StrCat(h.in_flight()), absl::StrCat(h.calls()), absl::StrCat(h.failures()),
                  FormatTime(h.last_success_time()), FormatTime(h.last_failure_time()), last_error,
                  FormatTime(h.last_probe_time()), h.version()});
  }
  table.Print(cli.out());
  return kExitOk;
}

struct TasksOptions {
  std::vector<std::string> states;
  std::string connector, resource, page_token;
  int page_size = 0;
  bool all = false;
};

int Tasks(Cli& cli, const TasksOptions& o) {
  v1::ListTasksRequest base;
  for (const auto& s : o.states) {
    auto state = ParseEnumLabel(v1::ConnectorTaskState_descriptor(), s);
    if (!state) return cli.Usage("--state: unknown value " + s);
    base.add_states(static_cast<v1::ConnectorTaskState>(*state));
  }
  base.set_connector(o.connector);
  base.set_resource(o.resource);
  base.set_page_size(o.page_size);
  auto stub = ConnectorService::NewStub(cli.channel());
  v1::ListTasksResponse merged;
  auto status = FetchPages(
      o.all, o.page_token,
      [&](const std::string& token, v1::ListTasksResponse* page) {
        v1::ListTasksRequest request = base;
        request.set_page_token(token);
        return stub->ListTasks(cli.Context().get(), request, page);
      },
      &merged);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(merged) << "\n";
    return kExitOk;
  }
  Table table({"TASK", "KIND", "CONNECTOR", "RESOURCE", "STATE", "ATTEMPTS", "NEXT ATTEMPT",
               "UPDATED", "LAST ERROR"});
  for (const auto& t : merged.tasks()) {
    const bool finished = t.state() == v1::CONNECTOR_TASK_STATE_DONE ||
                          t.state() == v1::CONNECTOR_TASK_STATE_DEAD ||
                          t.state() == v1::CONNECTOR_TASK_STATE_SKIPPED ||
                          t.state() == v1::CONNECTOR_TASK_STATE_NO_MATCHING_RECORD;
    table.AddRow({t.task_id(), EnumLabel(v1::ConnectorTaskKind_descriptor(), t.kind()),
                  t.connector(), t.resource(),
                  EnumLabel(v1::ConnectorTaskState_descriptor(), t.state()),
                  absl::StrCat(t.attempts()), finished ? "-" : FormatTime(t.next_attempt_time()),
                  FormatTime(t.update_time()), t.last_error()});
  }
  table.Print(cli.out());
  cli.MorePages(merged.next_page_token());
  return kExitOk;
}

struct RetryOptions {
  std::string task_id, request_id;
};

int Retry(Cli& cli, const RetryOptions& o) {
  v1::RetryTaskRequest request;
  request.set_task_id(o.task_id);
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  v1::RetryTaskResponse response;
  auto status =
      ConnectorService::NewStub(cli.channel())->RetryTask(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
    return kExitOk;
  }
  const auto& t = response.task();
  PrintKeyValues(cli.out(), {{"task", t.task_id()},
                             {"kind", EnumLabel(v1::ConnectorTaskKind_descriptor(), t.kind())},
                             {"connector", t.connector()},
                             {"resource", t.resource()},
                             {"state", EnumLabel(v1::ConnectorTaskState_descriptor(), t.state())},
                             {"attempts", absl::StrCat(t.attempts())},
                             {"next attempt", FormatTime(t.next_attempt_time())}});
  return kExitOk;
}

}  // namespace

void AddConnectorCommands(CLI::App& app, Cli& cli) {
  CLI::App* group = app.add_subcommand(
      "connectors", "Data systems (the Art. 30 register), their health and their task queue");
  group->require_subcommand(1);

  CLI::App* l = group->add_subcommand("list", "Connectors and their register entries");
  l->callback([&cli] { cli.SetAction([&cli] { return List(cli); }); });

  auto health = std::make_shared<HealthOptions>();
  CLI::App* h = group->add_subcommand("health", "Reachability, circuit breaker and error rate");
  h->add_option("name", health->names, "Connector names (default: every connector)");
  h->callback([&cli, health] { cli.SetAction([&cli, health] { return Health(cli, *health); }); });

  auto tasks = std::make_shared<TasksOptions>();
  CLI::App* t =
      group->add_subcommand("tasks", "Connector tasks, newest first (--state dead: dead letters)");
  t->add_option("--state", tasks->states, "Only these states (repeatable)")
      ->check(CLI::IsMember(EnumLabels(v1::ConnectorTaskState_descriptor())));
  t->add_option("--connector", tasks->connector, "Only this connector's tasks");
  t->add_option("--resource", tasks->resource, "Only tasks serving this resource");
  t->add_option("--page-size", tasks->page_size, "Tasks per page (1-500, default 50)");
  t->add_option("--page-token", tasks->page_token, "Continue from a previous page");
  t->add_flag("--all", tasks->all, "Fetch every page");
  t->callback([&cli, tasks] { cli.SetAction([&cli, tasks] { return Tasks(cli, *tasks); }); });

  auto retry = std::make_shared<RetryOptions>();
  CLI::App* r = group->add_subcommand("retry", "Re-queue a failed, dead or skipped task");
  r->add_option("task_id", retry->task_id, "Task id")->required();
  r->add_option("--request-id", retry->request_id, "Idempotency key (default: a fresh one)");
  r->callback([&cli, retry] { cli.SetAction([&cli, retry] { return Retry(cli, *retry); }); });
}

}  // namespace dsar::dsarctl
