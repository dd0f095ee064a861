#include "lib/deadline/deadline_module.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/core/log.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/due_time.h"
#include "lib/deadline/webhook_sink.h"

namespace dsar::deadline {
namespace {

absl::StatusOr<absl::Duration> ParseConfigDuration(const std::string& text, const char* field) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(absl::StrCat("deadline.", field, ": bad duration"));
  }
  return d;
}

absl::StatusOr<std::string> ReadSecret(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read webhook secret"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(buffer.str()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<DeadlineModule>> DeadlineModule::Create(
    const config::v1::DeadlineConfig& config, store::Store* store, Clock* clock,
    const delivery::OutboundPolicy& outbound) {
  DeadlineOptions options;
  ASSIGN_OR_RETURN(options.time_zone, LoadTimeZone(config.time_zone()));
  if (config.warn_before_size() > 0) {
    options.levels.warn_before.clear();
    for (const std::string& w : config.warn_before()) {
      ASSIGN_OR_RETURN(absl::Duration d, ParseConfigDuration(w, "warn_before"));
      options.levels.warn_before.push_back(d);
    }
  }
  if (!config.overdue_every().empty()) {
    ASSIGN_OR_RETURN(options.levels.overdue_every,
                     ParseConfigDuration(config.overdue_every(), "overdue_every"));
  }
  std::unique_ptr<DeadlineModule> engine(new DeadlineModule());
  ASSIGN_OR_RETURN(engine->deadlines_, Deadlines::Create(std::move(options)));

  std::vector<std::unique_ptr<AlertSink>> sinks;
  if (!config.disable_log_sink()) sinks.push_back(std::make_unique<LogSink>());
  int max_attempts = 0;
  for (const auto& hook : config.webhooks()) {
    WebhookOptions w;
    w.name = hook.name();
    w.url = hook.url();
    ASSIGN_OR_RETURN(w.secret, ReadSecret(hook.secret_file()));
    if (hook.timeout_ms() > 0) w.timeout = absl::Milliseconds(hook.timeout_ms());
    w.policy = outbound;
    w.clock = clock;
    ASSIGN_OR_RETURN(auto sink, WebhookSink::Create(std::move(w)));
    sinks.push_back(std::move(sink));
    // One limit for the forwarder: the largest asked for (0 = unlimited wins).
    if (hook.max_attempts() == 0) {
      max_attempts = -1;
    } else if (max_attempts >= 0) {
      max_attempts = std::max(max_attempts, hook.max_attempts());
    }
  }
  AlertForwarderOptions forwarder_options;
  forwarder_options.max_attempts = max_attempts < 0 ? 0 : max_attempts;
  engine->forwarder_ =
      std::make_unique<AlertForwarder>(*store, *clock, std::move(sinks), forwarder_options);
  SchedulerOptions scheduler_options;
  if (config.horizon_seconds() > 0)
    scheduler_options.horizon = absl::Seconds(config.horizon_seconds());
  scheduler_options.sinks = engine->forwarder_->sink_names();
  engine->scheduler_ =
      std::make_unique<Scheduler>(*store, *clock, *engine->deadlines_, scheduler_options);
  engine->scheduler_->AddListener(&engine->feed_);
  engine->scheduler_->AddListener(engine->forwarder_.get());
  return engine;
}

DeadlineModule::~DeadlineModule() { Stop(); }

void DeadlineModule::Start() {
  forwarder_->Start();
  scheduler_->Start();
  log::Info("deadline_module_started",
            {{"sinks", static_cast<int>(forwarder_->sink_names().size())}});
}

void DeadlineModule::Stop() {
  if (scheduler_) scheduler_->Stop();
  if (forwarder_) forwarder_->Stop();
}

}  // namespace dsar::deadline
