// dsarctl command groups, one file per dsar.v1 service. Each Add*Commands
// adds one top-level subcommand (with its own --help) and its leaves to
// `app`; a leaf sets its action on `cli` when it is selected.
//
// To add a group (e.g. requests for PrivacyRequestService): write
// <group>_commands.cc with Add<Group>Commands, declare it here, call it from
// main.cc and list the file in CMakeLists.txt.
#ifndef DSAR_TOOLS_DSARCTL_COMMANDS_H_
#define DSAR_TOOLS_DSARCTL_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "tools/dsarctl/cli.h"

namespace dsar::dsarctl {

void AddRequestCommands(CLI::App& app, Cli& cli);    // PrivacyRequestService
void AddConsentCommands(CLI::App& app, Cli& cli);    // ConsentService
void AddBreachCommands(CLI::App& app, Cli& cli);     // BreachService
void AddDeadlineCommands(CLI::App& app, Cli& cli);   // DeadlineService
void AddConnectorCommands(CLI::App& app, Cli& cli);  // ConnectorService
void AddAuditCommands(CLI::App& app, Cli& cli);      // AuditService
void AddBackupCommands(CLI::App& app, Cli& cli);     // AdminService
void AddHealthCommand(CLI::App& app, Cli& cli);      // grpc.health.v1.Health

}  // namespace dsar::dsarctl

#endif  // DSAR_TOOLS_DSARCTL_COMMANDS_H_
