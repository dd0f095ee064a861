#include "lib/core/log.h"

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace dsar::log {
namespace {

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
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

void Write(Level level, absl::string_view event, std::initializer_list<Field> fields) {
  auto logger = Logger();
  if (!logger->should_log(ToSpd(level))) return;
  nlohmann::json obj = nlohmann::json::object();
  obj["event"] = std::string(event);
  for (const auto& f : fields) {
    std::visit([&](const auto& v) { obj[std::string(f.key)] = v; }, f.value);
  }
  std::string text = obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Strip the outer braces: the pattern adds ts and level in front.
  logger->log(ToSpd(level), "{}", std::string_view(text).substr(1, text.size() - 2));
}

}  // namespace dsar::log
