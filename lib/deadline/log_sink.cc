#include "lib/core/log.h"
#include "lib/deadline/alert_sink.h"
#include "lib/deadline/levels.h"

namespace dsar::deadline {

absl::Status LogSink::Deliver(const AlertDelivery& d) {
  const absl::Duration offset = absl::Seconds(d.offset_seconds);
  lines_.Add(LevelOf(offset) == AlertLevel::kWarning ? log::Level::kWarn : log::Level::kError,
             "deadline_alert",
             {{"alert_id", d.alert_id},
              {"seq", d.seq},
              {"tenant", d.tenant},
              {"deadline", d.deadline_id},
              {"kind", d.kind},
              {"alert_level", AlertLevelName(LevelOf(offset))},
              {"level_label", LevelLabel(offset)}});
  return absl::OkStatus();
}

}  // namespace dsar::deadline
