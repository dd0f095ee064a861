// Cli: what every dsarctl command shares — the global options (server, TLS,
// token, tenant, output), resolved from the command line, then environment
// variables, then the config file; the gRPC channel; per-call contexts
// carrying the bearer token and tenant; and the command to run once parsing
// is done.
//
// Command groups (consent, deadlines, ...) register their subcommands with
// Add*Commands(app, cli) (commands.h); each leaf sets its action with
// cli.SetAction(). Not thread-safe: one command runs per process.
#ifndef DSAR_TOOLS_DSARCTL_CLI_H_
#define DSAR_TOOLS_DSARCTL_CLI_H_

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "dsar/v1/subject.pb.h"
#include "tools/dsarctl/exit_codes.h"
#include "tools/dsarctl/output.h"

namespace dsar::dsarctl {

// Connection and output settings after resolution.
struct Settings {
  std::string server = "127.0.0.1:50051";
  std::string token;
  std::string tenant;
  bool plaintext = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
  // Contents of the files above, read by Resolve().
  std::string ca_pem, cert_pem, key_pem;
  absl::Duration timeout = absl::Seconds(30);
  bool json = false;
};

class Cli {
 public:
  // Registers the global options on `app`.
  explicit Cli(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

  // After parsing: merges flags, environment and config file into settings().
  // INVALID_ARGUMENT (a usage error) for an unreadable config file, an unknown
  // key in it, a bad value, or a token file that cannot be read.
  absl::Status Resolve();
  const Settings& settings() const { return settings_; }
  bool json() const { return settings_.json; }

  // The channel to --server (created on first use).
  std::shared_ptr<grpc::Channel> channel();
  // A context with the bearer token, the x-dsar-tenant header (when
  // --tenant is set) and, unless `streaming`, the --timeout deadline.
  std::unique_ptr<grpc::ClientContext> Context(bool streaming = false) const;

  // Prints a failed call and returns its exit code.
  int Fail(const grpc::Status& status) const;
  // Prints a usage problem found after parsing and returns kExitUsage.
  int Usage(const std::string& message) const;
  // Prints "dsarctl: message" and returns `code`.
  int Error(ExitCode code, const std::string& message) const;

  // The leaf command's work, run by Run() once parsing succeeded.
  void SetAction(std::function<int()> action) { action_ = std::move(action); }
  bool has_action() const { return static_cast<bool>(action_); }
  int Run() { return action_(); }

  // A fresh client request id, "dsarctl-<16 hex>", for mutating calls made
  // without --request-id.
  static std::string NewRequestId();

  std::ostream& out() const { return out_; }
  std::ostream& err() const { return err_; }

  // Prints a hint about the next page to stderr when `token` is set.
  void MorePages(const std::string& token) const;

 private:
  struct Flags {
    std::string server, token, token_file, tenant, ca, cert, key, server_name, timeout, output,
        config;
    bool plaintext = false;
  };
  absl::Status ApplyConfigFile(const std::string& path, bool required);

  Flags flags_;
  Settings settings_;
  std::ostream& out_;
  std::ostream& err_;
  std::function<int()> action_;
  std::shared_ptr<grpc::Channel> channel_;
  // Options whose value came neither from the command line nor the
  // environment, and may be filled from the config file.
  std::vector<std::pair<std::string, CLI::Option*>> options_;
};

// Reads a subject identifier: the argument itself, or one line from stdin
// when it is "-" (keeps identifiers out of shell history and process lists).
absl::Status ReadSubject(std::string* subject);

// The person, by one of --email, --customer-id, --phone; a value of "-" is
// read from stdin (keeps it out of argv and shell history).
struct SubjectFlags {
  std::string email, customer_id, phone;
  bool given() const { return !email.empty() || !customer_id.empty() || !phone.empty(); }
};
// Adds the three options to `sub`.
void AddSubjectFlags(CLI::App* sub, SubjectFlags* flags);
// Fills `out` from the one flag given; INVALID_ARGUMENT when more than one
// is given, or none and `required`.
absl::Status ReadSubjectFlags(SubjectFlags flags, v1::SubjectIdentifier* out, bool required);

// Walks pages: `fetch(page_token, &page)` is called until the last page when
// `all`, else once; pages are merged into `merged` (repeated fields appended).
// Returns the first failed status.
template <typename Response, typename Fetch>
grpc::Status FetchPages(bool all, std::string first_token, Fetch fetch, Response* merged) {
  std::string token = std::move(first_token);
  for (int page = 0; page < 100000; ++page) {
    Response response;
    grpc::Status status = fetch(token, &response);
    if (!status.ok()) return status;
    merged->MergeFrom(response);
    merged->set_next_page_token(response.next_page_token());
    token = response.next_page_token();
    if (!all || token.empty()) break;
  }
  return grpc::Status::OK;
}

}  // namespace dsar::dsarctl

#endif  // DSAR_TOOLS_DSARCTL_CLI_H_
