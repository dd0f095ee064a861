// dsar-sql-connector: a dsar.connector.v1 server for any PostgreSQL or SQLite
// database, driven by a dataset map (dsar.config.v1.DatasetMap, text proto).
//
//   dsar-sql-connector --map=deploy/connectors/loyalty.textproto
//       (--postgres="host=/path dbname=loyalty user=postgres" | --sqlite=FILE)
//       [--hash-key-file=FILE] [--listen=127.0.0.1:0] [--port-file=PATH]
//
// At start it reads the map, checks it against the database's catalogue and
// creates its own tables (processed tasks, erased rows); a bad map stops it
// with `file:line: reason` and exit code 2, an unreachable database with
// exit code 1. Logs JSON lines to stderr; {"event":"ready","port":N} once
// serving. SIGTERM or SIGINT stops it gracefully (exit 0).
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
#include "services/sql_connector/connection_pool.h"
#include "services/sql_connector/dataset_map.h"
#include "services/sql_connector/postgres_engine.h"
#include "services/sql_connector/sql_data_source.h"
#include "services/sql_connector/sqlite_engine.h"

#ifndef DSAR_VERSION
#define DSAR_VERSION "dev"
#endif

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

int Fail(absl::string_view event, const absl::Status& s, int code) {
  dsar::log::Error(
      event, {{"code", absl::StatusCodeToString(s.code())}, {"detail", std::string(s.message())}});
  std::cerr << "dsar-sql-connector: " << s.message() << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  namespace sc = dsar::sql_connector;
  CLI::App app{
      "dsar-sql-connector - a PostgreSQL or SQLite database as a dsar.connector.v1 "
      "data system, through a dataset map"};
  std::string map_path, postgres, sqlite, hash_key_file, listen = "127.0.0.1:0", port_file,
                                                         log_level = "info";
  int threads = 4;
  app.add_option("--map", map_path, "Dataset map (text proto)")->required();
  auto* pg = app.add_option("--postgres", postgres, "libpq connection string");
  auto* lite = app.add_option("--sqlite", sqlite, "SQLite database file");
  pg->excludes(lite);
  app.add_option("--hash-key-file", hash_key_file,
                 "Secret (>= 32 bytes) for COLUMN_ERASURE_KEYED_HASH");
  app.add_option("--listen", listen, "host:port to listen on (port 0 picks one)");
  app.add_option("--port-file", port_file, "File the bound port is written to");
  app.add_option("--threads", threads, "Worker threads (and pooled connections)")
      ->check(CLI::Range(1, 256));
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error");
  CLI11_PARSE(app, argc, argv);
  if (postgres.empty() == sqlite.empty()) {
    std::cerr << "dsar-sql-connector: give exactly one of --postgres and --sqlite\n";
    return 2;
  }
  if (auto s = dsar::log::Init(log_level); !s.ok()) {
    std::cerr << "dsar-sql-connector: " << s.message() << "\n";
    return 2;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto map = sc::ParsedMap::Load(map_path);
  if (!map.ok()) return Fail("map_invalid", map.status(), 2);
  std::unique_ptr<sc::SqlEngine> engine;
  if (!postgres.empty()) {
    engine = std::make_unique<sc::PostgresEngine>(postgres);
  } else {
    engine = std::make_unique<sc::SqliteEngine>(sqlite);
  }
  sc::ConnectionPool pool(engine.get(), static_cast<size_t>(threads));
  auto plan = sc::SqlDataSource::PlanFor(*map, pool);
  if (!plan.ok()) {
    return Fail(plan.status().code() == absl::StatusCode::kInvalidArgument ? "map_invalid"
                                                                           : "database_unavailable",
                plan.status(), plan.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1);
  }
  std::optional<sc::KeyedHasher> hasher;
  if (!hash_key_file.empty()) {
    auto h = sc::KeyedHasher::FromFile(hash_key_file);
    if (!h.ok()) return Fail("hash_key_invalid", h.status(), 2);
    hasher = std::move(*h);
  } else if (plan->uses_keyed_hash) {
    return Fail("hash_key_missing",
                absl::InvalidArgumentError(absl::StrCat(
                    map_path, ": the map uses COLUMN_ERASURE_KEYED_HASH: give --hash-key-file")),
                2);
  }
  sc::SqlDataSource source(&*plan, &pool, hasher ? &*hasher : nullptr, dsar::SystemClock::Default(),
                           DSAR_VERSION);
  if (auto s = source.CreateOwnTables(); !s.ok()) return Fail("database_unavailable", s, 1);

  dsar::connector_kit::WorkQueue queue(threads);
  dsar::connector_kit::ConnectorServer service(&source, &queue);
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
  dsar::log::Info("ready", {{"port", port},
                            {"system", plan->map.system()},
                            {"engine", std::string(engine->name())},
                            {"tables", plan->map.tables_size()}});
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  dsar::log::Info("signal_received", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  queue.Stop();
  dsar::log::Info("stopped", {});
  return 0;
}
