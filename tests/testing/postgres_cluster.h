// PostgresCluster: a throw-away PostgreSQL 15 cluster for tests and
// benchmarks — initdb in a fresh short temp directory, listening on a unix
// socket there only (no TCP), trust authentication for that socket, removed
// with its data at destruction. As root the server runs as the `postgres`
// system user (initdb refuses root), which Debian's postgresql-15 package
// creates.
//
// Start() fails with a reason (never skips) when the binaries or the user
// are missing: CI installs postgresql-15, so a missing server is a broken
// machine, not a test to pass over.
#ifndef DSAR_TESTS_TESTING_POSTGRES_CLUSTER_H_
#define DSAR_TESTS_TESTING_POSTGRES_CLUSTER_H_

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/testing/run_command.h"

namespace dsar::testing {

class PostgresCluster {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

  PostgresCluster() = default;
  ~PostgresCluster() { Stop(); }
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  // Creates and starts the cluster; returns "" or why it could not. Tests
  // run without fsync (a throw-away cluster); benchmarks keep it.
  std::string Start(bool fsync = false) {
    if (!std::filesystem::exists(std::string(kBin) + "/initdb")) {
      return std::string("PostgreSQL 15 is not installed (") + kBin +
             "/initdb missing): install postgresql-15 (tools/dev installs it)";
    }
    as_postgres_ = geteuid() == 0;
    uid_t uid = 0;
    gid_t gid = 0;
    if (as_postgres_) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr) return "running as root but there is no `postgres` system user";
      uid = pw->pw_uid;
      gid = pw->pw_gid;
    }
    // A short path: a unix socket path must stay under ~100 bytes.
    std::string tmpl = "/tmp/dsar-pg-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return "mkdtemp failed";
    dir_ = tmpl;
    if (as_postgres_ && chown(dir_.c_str(), uid, gid) != 0) return "chown of the temp dir failed";
    CommandResult init = Run({std::string(kBin) + "/initdb", "-D", dir_ + "/data", "-A", "trust",
                              "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"});
    if (init.exit_code != 0) return "initdb failed: " + init.err;
    CommandResult start =
        Run({std::string(kBin) + "/pg_ctl", "-D", dir_ + "/data", "-w", "-l", dir_ + "/log", "-o",
             "-k " + dir_ + " -c listen_addresses='' -c fsync=" + (fsync ? "on" : "off"), "start"});
    if (start.exit_code != 0) return "pg_ctl start failed: " + start.err + start.out;
    running_ = true;
    return "";
  }

  void Stop() {
    if (running_) {
      Run({std::string(kBin) + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"});
      running_ = false;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  // The socket directory (psql -h).
  const std::string& socket_dir() const { return dir_; }
  std::string ConnInfo(const std::string& db) const {
    return "host=" + dir_ + " dbname=" + db + " user=postgres";
  }

  // Runs psql on `db` with extra arguments (e.g. {"-c", "SELECT 1"} or
  // {"-v", "people=100", "-f", file}); stops at the first error.
  CommandResult Psql(const std::string& db, const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {std::string(kBin) + "/psql",
                                     "-X",
                                     "-q",
                                     "-At",
                                     "-v",
                                     "ON_ERROR_STOP=1",
                                     "-h",
                                     dir_,
                                     "-U",
                                     "postgres",
                                     "-d",
                                     db};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, Env());
  }
  // pg_dump of `db` as plain SQL.
  CommandResult Dump(const std::string& db) const {
    return RunCommand({std::string(kBin) + "/pg_dump", "-h", dir_, "-U", "postgres", db}, Env());
  }
  std::string CreateDatabase(const std::string& db) const {
    CommandResult r = Psql("postgres", {"-c", "CREATE DATABASE " + db});
    return r.exit_code == 0 ? "" : r.err;
  }

 private:
  std::vector<std::string> Env() const { return {"PATH=/usr/bin:/bin", "LC_ALL=C"}; }
  CommandResult Run(std::vector<std::string> argv) const {
    if (as_postgres_) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
    return RunCommand(argv, Env());
  }

  std::string dir_;
  bool as_postgres_ = false;
  bool running_ = false;
};

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_POSTGRES_CLUSTER_H_
