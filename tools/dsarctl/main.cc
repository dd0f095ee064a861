// dsarctl: the Data Protection Officer's command line for dsard. Talks to
// dsard only through its public gRPC API (dsar.v1). See docs/dpo-guide.md.
#include <CLI/CLI.hpp>
#include <iostream>

#include "tools/dsarctl/cli.h"
#include "tools/dsarctl/commands.h"

#ifndef DSAR_VERSION
#define DSAR_VERSION "0.0.0-dev"
#endif

namespace {

// Global options may follow subcommands: "dsarctl audit verify -o json".
void AllowGlobalOptionsEverywhere(CLI::App* app, bool root = true) {
  app->fallthrough();
  if (!root) {
    app->footer(
        "Connection and output options (--server, --token-file, --tenant, --ca, "
        "--output json, ...) may follow any subcommand; see dsarctl --help.");
  }
  for (CLI::App* sub : app->get_subcommands({})) AllowGlobalOptionsEverywhere(sub, false);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dsar::dsarctl;
  CLI::App app{
      "dsarctl - operate dsar: requests, consent, breaches, deadlines, connectors, audit, "
      "backups.\n"
      "Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 invalid argument or failed "
      "precondition,\n5 unauthenticated or permission denied, 6 unavailable (retry), 7 check "
      "failed.",
      "dsarctl"};
  app.set_version_flag("--version", "dsarctl " DSAR_VERSION);
  app.require_subcommand(1);
  Cli cli(app);
  AddRequestCommands(app, cli);
  AddConsentCommands(app, cli);
  AddBreachCommands(app, cli);
  AddDeadlineCommands(app, cli);
  AddConnectorCommands(app, cli);
  AddAuditCommands(app, cli);
  AddBackupCommands(app, cli);
  AddHealthCommand(app, cli);
  AllowGlobalOptionsEverywhere(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, the version or the error
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (auto s = cli.Resolve(); !s.ok()) return cli.Usage(std::string(s.message()));
  if (!cli.has_action()) return cli.Usage("no command given; see dsarctl --help");
  return cli.Run();
}
