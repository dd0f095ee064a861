// refbackend: a reference data system (booking platform or CRM) that speaks
// dsar.connector.v1.DataSourceConnector, with its own SQLite database of
// synthetic people and fault injection. Used by the demo, the end-to-end tests
// and the benchmarks.
//
//   refbackend --kind=booking --listen=127.0.0.1:0 --db=var/booking.db
//              --seed=1 --people=100 [--latency-ms=N] [--error-rate=P]
//              [--crash-after=N] [--port-file=PATH]
//
// Logs JSON lines to stderr; once serving it logs {"event":"ready","port":N}.
// SIGTERM or SIGINT stops it gracefully (exit 0).
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "services/connector_kit/connector_server.h"
#include "services/connector_kit/work_queue.h"
#include "tools/refbackend/backend.h"
#include "tools/refbackend/backend_source.h"
#include "tools/refbackend/fault_injector.h"

namespace {

bool WritePortFile(const std::string& path, int port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << port << "\n";
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

}  // namespace

int main(int argc, char** argv) {
  using dsar::refbackend::Kind;
  CLI::App app{"refbackend - reference booking/CRM system speaking dsar.connector.v1"};
  std::string kind_name, listen = "127.0.0.1:0", db_path, port_file, log_level = "info";
  uint64_t seed = 1, fault_seed = 1;
  int people = 100, latency_ms = 0, threads = 8, async_erase_ms = 0;
  double error_rate = 0;
  int64_t crash_after = 0;
  bool list_every_ended = false;
  app.add_option("--kind", kind_name, "booking or crm")
      ->required()
      ->check(CLI::IsMember({"booking", "crm"}));
  app.add_option("--listen", listen, "host:port to listen on (port 0 picks one)");
  app.add_option("--db", db_path, "SQLite database file (created and seeded if new)")->required();
  app.add_option("--seed", seed, "Seed of the synthetic data generator");
  app.add_option("--people", people, "Synthetic people to create in a new database")
      ->check(CLI::Range(0, 10000000));
  app.add_option("--latency-ms", latency_ms, "Latency added to every call")
      ->check(CLI::Range(0, 3600000));
  app.add_option("--error-rate", error_rate, "Probability a data call fails with UNAVAILABLE")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--crash-after", crash_after, "Exit abruptly when data call N+1 arrives")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_option("--fault-seed", fault_seed, "Seed of the error-rate draws");
  app.add_flag("--fault-list-every-ended", list_every_ended,
               "ListEndedRelationships lists every ended relationship, recent ones too");
  app.add_option("--async-erase-ms", async_erase_ms,
                 "Erasures answer IN_PROGRESS until this long after their first call")
      ->check(CLI::Range(0, 3600000));
  app.add_option("--threads", threads, "Worker threads")->check(CLI::Range(1, 256));
  app.add_option("--port-file", port_file, "File the bound port is written to");
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error");
  CLI11_PARSE(app, argc, argv);

  if (auto s = dsar::log::Init(log_level); !s.ok()) {
    std::cerr << "refbackend: " << s.message() << "\n";
    return 2;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  dsar::refbackend::BackendOptions options;
  options.kind = kind_name == "booking" ? Kind::kBooking : Kind::kCrm;
  options.db_path = db_path;
  options.seed = seed;
  options.people = people;
  options.async_erase = absl::Milliseconds(async_erase_ms);
  auto backend = dsar::refbackend::Backend::Open(options, dsar::SystemClock::Default());
  if (!backend.ok()) {
    dsar::log::Error("start_failed", {{"code", absl::StatusCodeToString(backend.status().code())},
                                      {"detail", std::string(backend.status().message())}});
    return 1;
  }

  dsar::refbackend::FaultOptions fault_options;
  fault_options.latency = absl::Milliseconds(latency_ms);
  fault_options.error_rate = error_rate;
  fault_options.crash_after = crash_after;
  fault_options.seed = fault_seed;
  fault_options.list_every_ended = list_every_ended;
  dsar::refbackend::FaultInjector faults(fault_options);
  dsar::connector_kit::WorkQueue queue(threads);
  dsar::refbackend::BackendSource source(backend->get(), list_every_ended);
  dsar::connector_kit::ConnectorServer service(&source, &queue, &faults);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    dsar::log::Error("listen_failed", {{"address", listen}});
    return 1;
  }
  if (!port_file.empty() && !WritePortFile(port_file, port)) {
    dsar::log::Error("port_file_failed", {{"path", port_file}});
    return 1;
  }
  dsar::log::Info("ready", {{"port", port}, {"kind", kind_name}, {"people", people}});

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  dsar::log::Info("signal_received", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  queue.Hurry();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  queue.Stop();
  (*backend)->store().Close();
  dsar::log::Info("stopped", {{"data_calls", faults.data_calls()}});
  return 0;
}
