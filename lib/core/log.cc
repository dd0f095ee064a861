#include "lib/core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/core/json_string.h"

namespace dsar::log {
namespace {

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_logger_mt("dsar");
    // The message is the tail of a JSON object; spdlog supplies ts and level.
    l->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})",
                   spdlog::pattern_time_type::utc);
    l->flush_on(spdlog::level::info);
    return l;
  }();
  return logger;
}

}  // namespace

absl::Status Init(absl::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError("unknown log level");
  }
  Logger()->set_level(parsed);
  return absl::OkStatus();
}

namespace {

bool IsAscii(absl::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// FieldsText without building a nlohmann::json object (the deadline log sink
// writes thousands of lines at a time): the same text, keys in sorted order
// and a repeated key's last value kept, when every key and string is ASCII
// and no value is a double; nullopt otherwise (nlohmann then formats it).
std::optional<std::string> FastFieldsText(absl::string_view event,
                                          std::initializer_list<Field> fields) {
  struct Entry {
    absl::string_view key;
    const Field* field;  // null: the event
  };
  std::vector<Entry> entries;
  entries.reserve(fields.size() + 1);
  entries.push_back({"event", nullptr});
  if (!IsAscii(event)) return std::nullopt;
  for (const Field& f : fields) {
    if (!IsAscii(f.key)) return std::nullopt;
    if (std::holds_alternative<double>(f.value)) return std::nullopt;
    if (const auto* s = std::get_if<std::string>(&f.value); s != nullptr && !IsAscii(*s)) {
      return std::nullopt;
    }
    entries.push_back({f.key, &f});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.key < b.key; });
  std::string out;
  out.reserve(256);
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && entries[i + 1].key == entries[i].key) continue;  // last wins
    if (!out.empty()) out.push_back(',');
    AppendJsonString(out, entries[i].key);
    out.push_back(':');
    if (entries[i].field == nullptr) {
      AppendJsonString(out, event);
      continue;
    }
    const auto& v = entries[i].field->value;
    if (const auto* s = std::get_if<std::string>(&v)) {
      AppendJsonString(out, *s);
    } else if (const auto* n = std::get_if<int64_t>(&v)) {
      absl::StrAppend(&out, *n);
    } else {
      out.append(std::get<bool>(v) ? "true" : "false");
    }
  }
  return out;
}

// The JSON object of the event without its outer braces: the pattern adds ts
// and level in front.
std::string FieldsText(absl::string_view event, std::initializer_list<Field> fields) {
  if (std::optional<std::string> fast = FastFieldsText(event, fields); fast.has_value()) {
    return *std::move(fast);
  }
  nlohmann::json obj = nlohmann::json::object();
  obj["event"] = std::string(event);
  for (const auto& f : fields) {
    std::visit([&](const auto& v) { obj[std::string(f.key)] = v; }, f.value);
  }
  std::string text = obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return text.substr(1, text.size() - 2);
}

}  // namespace

void Write(Level level, absl::string_view event, std::initializer_list<Field> fields) {
  auto logger = Logger();
  if (!logger->should_log(ToSpd(level))) return;
  logger->log(ToSpd(level), "{}", FieldsText(event, fields));
}

void Batch::Add(Level level, absl::string_view event, std::initializer_list<Field> fields) {
  auto logger = Logger();
  if (!logger->should_log(ToSpd(level))) return;
  if (empty_) {
    first_level_ = level;
    empty_ = false;
  } else {
    // Close the previous line and open this one as the pattern would.
    const auto name = spdlog::level::to_string_view(ToSpd(level));
    absl::StrAppend(&text_, "}\n{\"ts\":\"",
                    absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()),
                    "\",\"level\":\"", absl::string_view(name.data(), name.size()), "\",");
  }
  text_.append(FieldsText(event, fields));
}

void Batch::Flush() {
  if (empty_) return;
  // One message, so one write under the sink's lock.
  Logger()->log(ToSpd(first_level_), "{}", text_);
  text_.clear();
  empty_ = true;
}

}  // namespace dsar::log
