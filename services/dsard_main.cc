// dsard: the dsar daemon. Parses flags, loads the config, starts the server and
// waits for SIGTERM/SIGINT, then shuts down gracefully and exits 0.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "lib/core/config.h"
#include "lib/core/log.h"
#include "services/dsard.h"

#ifndef DSAR_VERSION
#define DSAR_VERSION "0.0.0-dev"
#endif

namespace {

// Writes the port to `path` atomically (temp file + rename).
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
  // Debian's abseil is built without NDEBUG, so every absl::Mutex acquisition
  // (dsard's and gRPC's) would also update a global lock graph and record a
  // stack trace: deadlock detection is for debugging, not for serving.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"dsard - GDPR privacy-request, consent, breach and deadline service"};
  std::string config_path;
  bool show_version = false;
  bool check_only = false;
  app.add_option("--config", config_path, "Text-format DsardConfig file");
  app.add_flag("--version", show_version, "Print the version and exit");
  app.add_flag("--check", check_only,
               "Validate the config file and exit (0 valid, 2 invalid); starts nothing");
  CLI11_PARSE(app, argc, argv);
  if (show_version) {
    std::cout << "dsard " << DSAR_VERSION << "\n";
    return 0;
  }
  if (config_path.empty()) {
    std::cerr << "dsard: --config is required\n";
    return 2;
  }
  auto config = dsar::LoadDsardConfig(config_path);
  if (!config.ok()) {
    std::cerr << "dsard: invalid configuration:\n" << config.status().message() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << config_path << ": valid\n";
    return 0;
  }
  if (auto s = dsar::log::Init(config->log_level()); !s.ok()) {
    std::cerr << "dsard: " << s.message() << "\n";
    return 2;
  }

  // Everything dsard writes (database, WAL, backups, exports, the port file)
  // holds personal data or protects it: owner-only, whatever the caller's
  // umask (lib/core/private_files.h makes the same sure for its callers).
  umask(077);

  // Block the stop signals in every thread; this thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);  // reload, not stop: handled below
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  dsar::log::Info("starting", {{"version", DSAR_VERSION}});
  auto daemon = dsar::Dsard::Start(*config);
  if (!daemon.ok()) {
    dsar::log::Error("start_failed", {{"code", absl::StatusCodeToString(daemon.status().code())},
                                      {"detail", std::string(daemon.status().message())}});
    return 1;
  }
  if (!config->port_file().empty() && !WritePortFile(config->port_file(), (*daemon)->port())) {
    dsar::log::Error("port_file_failed", {{"path", config->port_file()}});
    return 1;
  }
  dsar::log::Info("ready", {{"port", (*daemon)->port()}});

  int signal_number = 0;
  for (;;) {
    sigwait(&stop_signals, &signal_number);
    if (signal_number != SIGHUP) break;
    // SIGHUP: re-read the config file and apply what can change in place
    // (principals; TLS files through the watcher). A bad file changes nothing.
    dsar::log::Info("signal_received", {{"signal", "SIGHUP"}});
    auto fresh = dsar::LoadDsardConfig(config_path);
    absl::Status reloaded = fresh.ok() ? (*daemon)->Reload(*fresh) : fresh.status();
    if (!reloaded.ok()) {
      dsar::log::Error("config_reload_failed", {{"code", absl::StatusCodeToString(reloaded.code())},
                                                {"detail", std::string(reloaded.message())}});
    }
  }
  dsar::log::Info("signal_received", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*daemon)->Shutdown();
  daemon->reset();
  dsar::log::Info("stopped");
  return 0;
}
