#include "lib/deadline/alerts.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "lib/audit/audit_log.h"
#include "lib/core/errors.h"
#include "lib/core/status_macros.h"
#include "lib/deadline/deadline_rows.h"
#include "lib/store/idempotency.h"

namespace dsar::deadline {

using internal::DurUs;
using internal::FromUs;
using internal::Us;

namespace {

constexpr char kAlertColumns[] =
    "seq, alert_id, tenant_id, deadline_id, kind, resource, due_version, offset_us, due_at_us, "
    "fire_at_us, fired_at_us, payload, acknowledged_at_us, acknowledged_by";

Alert ReadAlert(SQLite::Statement& s) {
  Alert a;
  a.seq = s.getColumn(0).getInt64();
  a.alert_id = s.getColumn(1).getString();
  a.tenant = s.getColumn(2).getString();
  a.deadline_id = s.getColumn(3).getString();
  a.kind = s.getColumn(4).getString();
  a.resource = s.getColumn(5).getString();
  a.due_version = s.getColumn(6).getInt();
  a.offset = absl::Microseconds(s.getColumn(7).getInt64());
  a.due_at = FromUs(s.getColumn(8).getInt64());
  a.fire_at = FromUs(s.getColumn(9).getInt64());
  a.fired_at = FromUs(s.getColumn(10).getInt64());
  a.payload = s.getColumn(11).getString();
  // Set-based firing stores no body (see AlertPayload).
  if (a.payload.empty()) a.payload = AlertPayload(a);
  if (!s.getColumn(12).isNull()) a.acknowledged_at = FromUs(s.getColumn(12).getInt64());
  a.acknowledged_by = s.getColumn(13).getString();
  return a;
}

// RFC 3339 UTC with microseconds, e.g. "2026-01-01T00:00:00.000000Z". Hand
// formatted: this runs once per fired alert inside the firing transaction.
void AppendRfc3339(std::string& out, absl::Time t) {
  const absl::CivilSecond cs = absl::ToCivilSecond(t, absl::UTCTimeZone());
  const int64_t micros =
      absl::ToInt64Microseconds(t - absl::FromCivil(cs, absl::UTCTimeZone()));
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                              static_cast<int>(cs.year()), cs.month(), cs.day(), cs.hour(),
                              cs.minute(), cs.second(), static_cast<int>(micros));
  out.append(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

// Appends `s` as a JSON string literal.
void AppendJsonString(std::string& out, absl::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", c);
          out.append(esc);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
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
  AppendJsonString(out, absl::StrCat("deadlines/", a.deadline_id));
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

namespace {

template <typename Txn>
std::optional<Alert> LoadAlert(Txn& txn, absl::string_view tenant, absl::string_view alert_id) {
  SQLite::Statement& select = txn.Prepare(absl::StrCat(
      "SELECT ", kAlertColumns, " FROM deadline_alerts WHERE alert_id = ? AND tenant_id = ?"));
  select.bind(1, std::string(alert_id));
  select.bind(2, std::string(tenant));
  std::optional<Alert> out;
  if (select.executeStep()) out = ReadAlert(select);
  select.reset();
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Alert>> ListAlertsAfter(store::ReadTxn& txn, absl::string_view tenant,
                                                   int64_t after_seq, int limit) {
  if (tenant.empty()) return InvalidField("tenant", "required");
  SQLite::Statement& select = txn.Prepare(
      absl::StrCat("SELECT ", kAlertColumns,
                   " FROM deadline_alerts WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?"));
  select.bind(1, std::string(tenant));
  select.bind(2, after_seq);
  select.bind(3, limit);
  std::vector<Alert> out;
  while (select.executeStep()) out.push_back(ReadAlert(select));
  select.reset();
  return out;
}

absl::StatusOr<Alert> GetAlert(store::ReadTxn& txn, absl::string_view tenant,
                               absl::string_view alert_id) {
  std::optional<Alert> a = LoadAlert(txn, tenant, alert_id);
  if (!a.has_value()) return absl::NotFoundError(absl::StrCat("alert ", alert_id));
  return *a;
}

absl::StatusOr<Alert> AcknowledgeAlert(store::WriteTxn& txn, const RequestContext& ctx,
                                       absl::string_view alert_id, absl::Time now) {
  if (alert_id.empty()) return InvalidField("name", "required: alerts/{alert_id}");
  const std::string resource = absl::StrCat("alerts/", alert_id);
  absl::StatusOr<std::string> done = store::RunIdempotent(
      txn, ctx, store::Fingerprint(resource), now,
      [&](store::WriteTxn& t) -> absl::StatusOr<std::string> {
        std::optional<Alert> a = LoadAlert(t, ctx.tenant, alert_id);
        if (!a.has_value()) return absl::NotFoundError(absl::StrCat("alert ", alert_id));
        if (!a->acknowledged_at.has_value()) {
          SQLite::Statement& update = t.Prepare(
              "UPDATE deadline_alerts SET acknowledged_at_us = ?, acknowledged_by = ? "
              "WHERE seq = ? AND tenant_id = ?");
          update.bind(1, Us(now));
          update.bind(2, ctx.principal);
          update.bind(3, a->seq);
          update.bind(4, ctx.tenant);
          update.exec();
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
