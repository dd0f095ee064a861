#include "lib/core/config.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace dsar {
namespace {

using dsar::config::v1::DsardConfig;
using google::protobuf::TextFormat;

// Collects parser errors as "<file>:<line>:<col>: <message>" (1-based).
class CollectingErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrors(absl::string_view file) : file_(file) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    errors_.push_back(absl::StrCat(file_, ":", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

// Where a message's fields were set in the file: its parse subtree (null when
// the message did not appear) and its type.
struct Where {
  const TextFormat::ParseInfoTree* tree;
  const google::protobuf::Descriptor* type;
};

// Semantic checks; each error names the field and the line where it was set.
class Validator {
 public:
  explicit Validator(absl::string_view file) : file_(file) {}

  void Fail(Where where, absl::string_view field_name, absl::string_view path,
            absl::string_view reason) {
    const auto* field = where.type->FindFieldByName(std::string(field_name));
    int line = 0;
    if (where.tree != nullptr && field != nullptr) {
      line = where.tree->GetLocation(field, -1).line + 1;
    }
    errors_.push_back(line > 0 ? absl::StrCat(file_, ":", line, ": ", path, ": ", reason)
                               : absl::StrCat(file_, ": ", path, ": ", reason));
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

void Validate(const DsardConfig& c, const TextFormat::ParseInfoTree& tree, Validator& v) {
  const Where root{&tree, DsardConfig::descriptor()};
  const Where writer{
      tree.GetTreeForNested(DsardConfig::descriptor()->FindFieldByName("writer"), -1),
      dsar::config::v1::WriterConfig::descriptor()};
  if (c.listen_address().empty()) {
    v.Fail(root, "listen_address", "listen_address", "required (host:port)");
  } else {
    auto colon = c.listen_address().rfind(':');
    int port = -1;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(c.listen_address().substr(colon + 1), &port) || port < 0 ||
        port > 65535) {
      v.Fail(root, "listen_address", "listen_address",
             "must be host:port with a port from 0 to 65535");
    } else if (!c.insecure_loopback()) {
      v.Fail(root, "listen_address", "listen_address",
             "TLS is not configured; set insecure_loopback: true to serve plaintext on a "
             "loopback address");
    } else if (!IsLoopbackAddress(c.listen_address())) {
      v.Fail(root, "listen_address", "listen_address",
             "insecure_loopback allows only loopback addresses (127.0.0.0/8, [::1], localhost)");
    }
  }
  if (c.database_path().empty()) v.Fail(root, "database_path", "database_path", "required");
  auto in_range = [&](Where where, absl::string_view name, absl::string_view path, int value,
                      int lo, int hi) {
    if (value != 0 && (value < lo || value > hi)) {
      v.Fail(where, name, path,
             absl::StrCat("must be between ", lo, " and ", hi, " (or unset for the default)"));
    }
  };
  in_range(root, "max_message_bytes", "max_message_bytes", c.max_message_bytes(), 1024,
           64 << 20);
  in_range(root, "shutdown_grace_ms", "shutdown_grace_ms", c.shutdown_grace_ms(), 1, 600000);
  in_range(root, "read_pool_size", "read_pool_size", c.read_pool_size(), 1, 64);
  in_range(writer, "max_group_size", "writer.max_group_size", c.writer().max_group_size(), 1,
           10000);
  in_range(writer, "max_queue_depth", "writer.max_queue_depth", c.writer().max_queue_depth(),
           1, 10000000);
  static const char* const kLevels[] = {"", "trace", "debug", "info", "warn", "error"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok |= (c.log_level() == l);
  if (!level_ok) {
    v.Fail(root, "log_level", "log_level", "must be trace, debug, info, warn or error");
  }
}

void ApplyDefaults(DsardConfig& c) {
  if (c.max_message_bytes() == 0) c.set_max_message_bytes(4 << 20);
  if (c.shutdown_grace_ms() == 0) c.set_shutdown_grace_ms(5000);
  if (c.read_pool_size() == 0) c.set_read_pool_size(4);
  if (c.writer().max_group_size() == 0) c.mutable_writer()->set_max_group_size(512);
  if (c.writer().max_queue_depth() == 0) c.mutable_writer()->set_max_queue_depth(100000);
  if (c.log_level().empty()) c.set_log_level("info");
}

}  // namespace

bool IsLoopbackAddress(absl::string_view host_port) {
  absl::string_view host = host_port;
  if (absl::StartsWith(host, "[")) {
    auto end = host.find(']');
    host = end == absl::string_view::npos ? host : host.substr(1, end - 1);
  } else if (auto colon = host.rfind(':');
             colon != absl::string_view::npos && host.find(':') == colon) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<DsardConfig> ParseDsardConfig(absl::string_view text,
                                             absl::string_view source_name) {
  DsardConfig config;
  TextFormat::Parser parser;
  CollectingErrors errors(source_name);
  TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &config)) {
    if (errors.errors().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(source_name, ": cannot parse config"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors.errors(), "\n"));
  }
  Validator validator(source_name);
  Validate(config, tree, validator);
  if (!validator.errors().empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(validator.errors(), "\n"));
  }
  ApplyDefaults(config);
  return config;
}

absl::StatusOr<DsardConfig> LoadDsardConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open config file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat(path, ": cannot read config file"));
  return ParseDsardConfig(buffer.str(), path);
}

}  // namespace dsar
