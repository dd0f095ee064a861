// dsarctl health: grpc.health.v1.Health/Check, which needs no token. Exit 0
// when SERVING, 7 when not; usable as a container or Kubernetes exec probe
// (it speaks TLS, which Kubernetes' built-in gRPC probe cannot).
#include "grpc/health/v1/health.grpc.pb.h"
#include "tools/dsarctl/commands.h"

namespace dsar::dsarctl {
namespace {

struct HealthOptions {
  std::string service;
};

int Health(Cli& cli, const HealthOptions& o) {
  ::grpc::health::v1::HealthCheckRequest request;
  request.set_service(o.service);
  ::grpc::health::v1::HealthCheckResponse response;
  auto status = ::grpc::health::v1::Health::NewStub(cli.channel())
                    ->Check(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
  } else {
    cli.out() << ::grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())
              << "\n";
  }
  return response.status() == ::grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk
                                                                               : kExitCheckFailed;
}

}  // namespace

void AddHealthCommand(CLI::App& app, Cli& cli) {
  auto options = std::make_shared<HealthOptions>();
  CLI::App* h = app.add_subcommand(
      "health", "Is dsard serving? (grpc.health.v1; no token needed; exit 7 when not serving)");
  h->add_option("--service", options->service,
                "Service to ask about, e.g. dsar.v1.ConsentService (default: the whole server)");
  h->callback(
      [&cli, options] { cli.SetAction([&cli, options] { return Health(cli, *options); }); });
}

}  // namespace dsar::dsarctl
