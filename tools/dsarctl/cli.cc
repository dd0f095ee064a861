#include "tools/dsarctl/cli.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace dsar::dsarctl {
namespace {

absl::Status ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot open"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return absl::OkStatus();
}

bool IsLoopback(absl::string_view host_port) {
  absl::string_view host = host_port;
  if (absl::StartsWith(host, "[")) {
    host = host.substr(
        1, host.find(']') == absl::string_view::npos ? host.size() - 1 : host.find(']') - 1);
  } else if (auto colon = host.rfind(':');
             colon != absl::string_view::npos && host.find(':') == colon) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

std::string DefaultConfigPath() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0') {
    return absl::StrCat(xdg, "/dsarctl/config");
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return absl::StrCat(home, "/.config/dsarctl/config");
  }
  return "";
}

}  // namespace

Cli::Cli(CLI::App& app, std::ostream& out, std::ostream& err) : out_(out), err_(err) {
  auto add = [&](const char* names, std::string* target, const char* env, const char* key,
                 const std::string& help) {
    CLI::Option* opt = app.add_option(names, *target, help)->envname(env);
    opt->group("Connection and output (flags > environment > config file)");
    options_.push_back({key, opt});
    return opt;
  };
  add("--server,-s", &flags_.server, "DSAR_SERVER", "server",
      "dsard address host:port (default 127.0.0.1:50051)");
  add("--token", &flags_.token, "DSAR_TOKEN", "token",
      "Bearer token (prefer --token-file: flags show in process lists)");
  add("--token-file", &flags_.token_file, "DSAR_TOKEN_FILE", "token-file",
      "File holding the bearer token");
  add("--tenant", &flags_.tenant, "DSAR_TENANT", "tenant",
      "Tenant to act for (for principals that serve all tenants)");
  add("--ca", &flags_.ca, "DSAR_CA", "ca",
      "CA bundle (PEM) to verify dsard; default: system roots");
  add("--cert", &flags_.cert, "DSAR_CERT", "cert", "Client certificate (PEM) for mutual TLS");
  add("--key", &flags_.key, "DSAR_KEY", "key", "Client private key (PEM) for mutual TLS");
  add("--server-name", &flags_.server_name, "DSAR_SERVER_NAME", "server-name",
      "Name expected in dsard's certificate, when not the --server host");
  add("--timeout", &flags_.timeout, "DSAR_TIMEOUT", "timeout",
      "Deadline of each call, e.g. 30s (default), 2m");
  add("--output,-o", &flags_.output, "DSAR_OUTPUT", "output", "table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
  CLI::Option* plaintext = app.add_flag("--plaintext", flags_.plaintext,
                                        "No TLS (only to a loopback server such as the local demo)")
                               ->envname("DSAR_PLAINTEXT");
  plaintext->group("Connection and output (flags > environment > config file)");
  options_.push_back({"plaintext", plaintext});
  app.add_option("--config", flags_.config,
                 "Config file of `key = value` lines (keys as the long flags, e.g. server, "
                 "token-file, tenant, ca); default $XDG_CONFIG_HOME/dsarctl/config or "
                 "~/.config/dsarctl/config if present")
      ->envname("DSARCTL_CONFIG")
      ->group("Connection and output (flags > environment > config file)");
}

absl::Status Cli::ApplyConfigFile(const std::string& path, bool required) {
  std::ifstream in(path);
  if (!in) {
    if (required)
      return absl::InvalidArgumentError(absl::StrCat(path, ": cannot open config file"));
    return absl::OkStatus();
  }
  std::map<std::string, std::string*> targets = {{"server", &flags_.server},
                                                 {"token", &flags_.token},
                                                 {"token-file", &flags_.token_file},
                                                 {"tenant", &flags_.tenant},
                                                 {"ca", &flags_.ca},
                                                 {"cert", &flags_.cert},
                                                 {"key", &flags_.key},
                                                 {"server-name", &flags_.server_name},
                                                 {"timeout", &flags_.timeout},
                                                 {"output", &flags_.output}};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    auto eq = text.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", number, ": expected key = value"));
    }
    std::string key(absl::StripAsciiWhitespace(text.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(text.substr(eq + 1)));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    CLI::Option* option = nullptr;
    for (auto& [name, opt] : options_) {
      if (name == key) option = opt;
    }
    if (option == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": unknown key \"", key, "\""));
    }
    if (option->count() > 0) continue;  // given on the command line or in the environment
    if (key == "plaintext") {
      flags_.plaintext = value == "true" || value == "1" || value == "yes";
    } else {
      *targets[key] = value;
    }
  }
  return absl::OkStatus();
}

absl::Status Cli::Resolve() {
  std::string config_path = flags_.config.empty() ? DefaultConfigPath() : flags_.config;
  if (!config_path.empty()) {
    if (auto s = ApplyConfigFile(config_path, /*required=*/!flags_.config.empty()); !s.ok()) {
      return s;
    }
  }
  Settings s;
  if (!flags_.server.empty()) s.server = flags_.server;
  s.tenant = flags_.tenant;
  s.plaintext = flags_.plaintext;
  s.ca_file = flags_.ca;
  s.cert_file = flags_.cert;
  s.key_file = flags_.key;
  s.server_name = flags_.server_name;
  s.json = flags_.output == "json";
  if (!flags_.output.empty() && flags_.output != "json" && flags_.output != "table") {
    return absl::InvalidArgumentError("--output must be table or json");
  }
  if (!flags_.timeout.empty()) {
    if (!absl::ParseDuration(flags_.timeout, &s.timeout) || s.timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat("--timeout: \"", flags_.timeout,
                                                     "\" is not a positive duration (e.g. 30s)"));
    }
  }
  if (!flags_.token.empty()) {
    s.token = flags_.token;
  } else if (!flags_.token_file.empty()) {
    if (auto r = ReadFile(flags_.token_file, &s.token); !r.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--token-file ", r.message()));
    }
    s.token = std::string(absl::StripAsciiWhitespace(s.token));
  }
  if (s.plaintext && !IsLoopback(s.server)) {
    return absl::InvalidArgumentError(
        "--plaintext is only allowed to a loopback server: bearer tokens must not cross a "
        "network in clear");
  }
  if (s.plaintext && (!s.ca_file.empty() || !s.cert_file.empty())) {
    return absl::InvalidArgumentError("--plaintext cannot be combined with --ca/--cert/--key");
  }
  if (s.cert_file.empty() != s.key_file.empty()) {
    return absl::InvalidArgumentError("--cert and --key go together");
  }
  for (auto [flag, path, pem] : {std::make_tuple("--ca", &s.ca_file, &s.ca_pem),
                                 std::make_tuple("--cert", &s.cert_file, &s.cert_pem),
                                 std::make_tuple("--key", &s.key_file, &s.key_pem)}) {
    if (path->empty()) continue;
    if (auto r = ReadFile(*path, pem); !r.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, " ", r.message()));
    }
  }
  settings_ = std::move(s);
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> Cli::channel() {
  if (channel_) return channel_;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (settings_.plaintext) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = settings_.ca_pem;  // empty: system roots
    options.pem_cert_chain = settings_.cert_pem;
    options.pem_private_key = settings_.key_pem;
    creds = grpc::SslCredentials(options);
    if (!settings_.server_name.empty()) args.SetSslTargetNameOverride(settings_.server_name);
  }
  channel_ = grpc::CreateCustomChannel(settings_.server, creds, args);
  return channel_;
}

std::unique_ptr<grpc::ClientContext> Cli::Context(bool streaming) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!settings_.token.empty()) {
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", settings_.token));
  }
  if (!settings_.tenant.empty()) ctx->AddMetadata("x-dsar-tenant", settings_.tenant);
  if (!streaming) ctx->set_deadline(absl::ToChronoTime(absl::Now() + settings_.timeout));
  return ctx;
}

int Cli::Fail(const grpc::Status& status) const {
  PrintError(err_, status, settings_.json);
  return ExitCodeFor(status.error_code());
}

int Cli::Usage(const std::string& message) const {
  err_ << "dsarctl: " << message << "\n";
  return kExitUsage;
}

int Cli::Error(ExitCode code, const std::string& message) const {
  err_ << "dsarctl: " << message << "\n";
  return code;
}

std::string Cli::NewRequestId() {
  std::random_device random;
  return absl::StrFormat("dsarctl-%08x%08x", random(), random());
}

void Cli::MorePages(const std::string& token) const {
  if (token.empty()) return;
  err_ << "(more results: repeat with --page-token " << token << ", or use --all)\n";
}

absl::Status ReadSubject(std::string* subject) {
  if (*subject != "-") return absl::OkStatus();
  std::string line;
  if (!std::getline(std::cin, line)) {
    return absl::InvalidArgumentError("SUBJECT is \"-\" but stdin is empty");
  }
  *subject = std::string(absl::StripAsciiWhitespace(line));
  return absl::OkStatus();
}

void AddSubjectFlags(CLI::App* sub, SubjectFlags* f) {
  sub->add_option("--email", f->email, "The person's e-mail address (\"-\": read stdin)");
  sub->add_option("--customer-id", f->customer_id, "The person's customer id (\"-\": read stdin)");
  sub->add_option("--phone", f->phone, "The person's phone number, E.164 (\"-\": read stdin)");
}

absl::Status ReadSubjectFlags(SubjectFlags f, v1::SubjectIdentifier* out, bool required) {
  int given = 0;
  const std::pair<std::string*, v1::SubjectIdentifierType> flags[] = {
      {&f.email, v1::SUBJECT_IDENTIFIER_TYPE_EMAIL},
      {&f.customer_id, v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID},
      {&f.phone, v1::SUBJECT_IDENTIFIER_TYPE_PHONE}};
  for (const auto& [value, type] : flags) {
    if (value->empty()) continue;
    ++given;
    if (absl::Status s = ReadSubject(value); !s.ok()) return s;
    out->set_type(type);
    out->set_value(*value);
  }
  if (given > 1 || (given == 0 && required)) {
    return absl::InvalidArgumentError(
        "name the person by exactly one of --email, --customer-id, --phone");
  }
  return absl::OkStatus();
}

}  // namespace dsar::dsarctl
