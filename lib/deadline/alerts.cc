#include "lib/deadline/alerts.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "lib/audit/audit_log.h"
#include "lib/core/errors.h"
#include "lib/core/json_string.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/deadline_rows.h"
#include "lib/store/idempotency.h"

namespace dsar::deadline {

using internal::DurUs;
using internal::Us;

namespace {

// RFC 3339 UTC with microseconds, e.g. "2026-01-01T00:00:00.000000Z". Hand
// formatted: this runs once per fired alert inside the firing transaction.
void AppendRfc3339(std::string& out, absl::Time t) {
  const absl::CivilSecond cs = absl::ToCivilSecond(t, absl::UTCTimeZone());
  const int64_t micros = absl::ToInt64Microseconds(t - absl::FromCivil(cs, absl::UTCTimeZone()));
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                              static_cast<int>(cs.year()), cs.month(), cs.day(), cs.hour(),
                              cs.minute(), cs.second(), static_cast<int>(micros));
  out.append(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

}  // namespace

std::string AlertPayload(const Alert& a) {
  std::string out;
  out.reserve(512);
  auto key = [&](const char* k) {
    out.append(out.size() == 1 ? "\"" : ",\"").append(k).append("\":");
  };
  out.push_back('{');
  key("alert_id");
  AppendJsonString(out, a.alert_id);
  key("tenant");
  AppendJsonString(out, a.tenant);
  key("deadline");
  AppendJsonString(out, DeadlineName(a.deadline_id));
  key("kind");
  AppendJsonString(out, a.kind);
  key("resource");
  AppendJsonString(out, a.resource);
  key("level");
  AppendJsonString(out, AlertLevelName(a.level()));
  key("level_label");
  AppendJsonString(out, LevelLabel(a.offset));
  key("offset_seconds");
  absl::StrAppend(&out, absl::ToInt64Seconds(a.offset));
  key("due_version");
  absl::StrAppend(&out, a.due_version);
  key("due_time");
  out.push_back('"');
  AppendRfc3339(out, a.due_at);
  out.push_back('"');
  key("fire_time");
  out.push_back('"');
  AppendRfc3339(out, a.fire_at);
  out.push_back('"');
  key("fired_time");
  out.push_back('"');
  AppendRfc3339(out, a.fired_at);
  out.push_back('"');
  out.push_back('}');
  return out;
}

std::string AlertIdFor(absl::string_view deadline_id, int due_version, absl::Duration offset) {
  absl::ConsumePrefix(&deadline_id, "dl_");
  std::string id = absl::StrCat("alrt_", deadline_id, "_", due_version, "_");
  const int64_t us = DurUs(offset);
  if (us != 0) id.push_back(us < 0 ? 'm' : 'p');
  const uint64_t magnitude = us < 0 ? 0 - static_cast<uint64_t>(us) : static_cast<uint64_t>(us);
  if (magnitude % 1000000 == 0) {
    absl::StrAppend(&id, magnitude / 1000000);
  } else {
    absl::StrAppend(&id, magnitude, "u");
  }
  return id;
}

std::optional<AlertKey> ParseAlertId(absl::string_view alert_id) {
  if (!absl::ConsumePrefix(&alert_id, "alrt_")) return std::nullopt;
  const size_t last = alert_id.rfind('_');
  if (last == absl::string_view::npos || last == 0) return std::nullopt;
  const size_t middle = alert_id.rfind('_', last - 1);
  if (middle == absl::string_view::npos || middle == 0) return std::nullopt;
  AlertKey key;
  key.deadline_id = absl::StrCat("dl_", alert_id.substr(0, middle));
  if (!absl::SimpleAtoi(alert_id.substr(middle + 1, last - middle - 1), &key.due_version) ||
      key.due_version < 1) {
    return std::nullopt;
  }
  absl::string_view level = alert_id.substr(last + 1);
  int sign = 0;
  if (absl::ConsumePrefix(&level, "m")) {
    sign = -1;
  } else if (absl::ConsumePrefix(&level, "p")) {
    sign = 1;
  }
  const bool micros = absl::ConsumeSuffix(&level, "u");
  uint64_t magnitude = 0;
  if (level.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(level[0])) ||
      !absl::SimpleAtoi(level, &magnitude) || (sign == 0) != (magnitude == 0) ||
      magnitude > (micros ? uint64_t{1} << 62 : (uint64_t{1} << 62) / 1000000)) {
    return std::nullopt;
  }
  const int64_t us = static_cast<int64_t>(micros ? magnitude : magnitude * 1000000);
  key.offset = absl::Microseconds(sign < 0 ? -us : us);
  // Only the canonical spelling names an alert (no "007", no "1000000u").
  if (AlertIdFor(key.deadline_id, key.due_version, key.offset) != absl::StrCat("alrt_", alert_id)) {
    return std::nullopt;
  }
  return key;
}

namespace {

// By the id clients see: derived ids through the unique key, older random ids
// through their own index.
template <typename Txn>
std::optional<Alert> LoadAlert(Txn& txn, absl::string_view tenant, absl::string_view alert_id) {
  std::optional<AlertKey> key = ParseAlertId(alert_id);
  return key.has_value() ? internal::LoadAlertByKey(txn, tenant, *key)
                         : internal::LoadLegacyAlert(txn, tenant, alert_id);
}

}  // namespace

absl::StatusOr<std::vector<Alert>> ListAlertsAfter(store::ReadTxn& txn, absl::string_view tenant,
                                                   int64_t after_seq, int limit) {
  if (tenant.empty()) return InvalidField("tenant", "required");
  return internal::AlertsAfter(txn, tenant, after_seq, limit);
}

absl::StatusOr<Alert> GetAlert(store::ReadTxn& txn, absl::string_view tenant,
                               absl::string_view alert_id) {
  std::optional<Alert> a = LoadAlert(txn, tenant, alert_id);
  if (!a.has_value()) return absl::NotFoundError(absl::StrCat("alert ", alert_id));
  return *a;
}

absl::StatusOr<Alert> AcknowledgeAlert(store::WriteTxn& txn, const CallContext& ctx,
                                       absl::string_view alert_id, absl::Time now) {
  if (alert_id.empty()) return InvalidField("name", "required: alerts/{alert_id}");
  const std::string resource = AlertName(alert_id);
  absl::StatusOr<std::string> done = store::RunIdempotent(
      txn, ctx.tenant, ctx.idempotency_key, ctx.method, store::Fingerprint(resource), now,
      [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
        std::optional<Alert> a = LoadAlert(t, ctx.tenant, alert_id);
        if (!a.has_value()) return absl::NotFoundError(absl::StrCat("alert ", alert_id));
        if (!a->acknowledged_at.has_value()) {
          internal::MarkAlertAcknowledged(t, ctx.tenant, a->seq, ctx.principal, now);
        }
        RETURN_IF_ERROR(audit::Append(t, ctx, resource, "OK", now));
        return std::string(alert_id);
      });
  if (!done.ok()) return done.status();
  std::optional<Alert> a = LoadAlert(txn, ctx.tenant, *done);
  if (!a.has_value()) return absl::NotFoundError(absl::StrCat("alert ", alert_id));
  return *a;
}

}  // namespace dsar::deadline
