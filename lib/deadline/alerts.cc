#include "lib/deadline/alerts.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "lib/audit/audit_log.h"
#include "lib/core/errors.h"
#include "lib/core/ids.h"
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
  if (!s.getColumn(12).isNull()) a.acknowledged_at = FromUs(s.getColumn(12).getInt64());
  a.acknowledged_by = s.getColumn(13).getString();
  return a;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

// The webhook body: ids, kind, level and times; never personal data.
std::string Payload(const Alert& a) {
  nlohmann::json j = {
      {"alert_id", a.alert_id},
      {"tenant", a.tenant},
      {"deadline", "deadlines/" + a.deadline_id},
      {"kind", a.kind},
      {"resource", a.resource},
      {"level", AlertLevelName(a.level())},
      {"level_label", LevelLabel(a.offset)},
      {"offset_seconds", absl::ToInt64Seconds(a.offset)},
      {"due_version", a.due_version},
      {"due_time", Rfc3339(a.due_at)},
      {"fire_time", Rfc3339(a.fire_at)},
      {"fired_time", Rfc3339(a.fired_at)},
  };
  return j.dump();
}

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

FireResult FireIfDue(store::WriteTxn& txn, const AlertLevels& levels, absl::string_view tenant,
                     absl::string_view deadline_id, absl::Time now,
                     const std::vector<std::string>& sinks) {
  FireResult result;
  std::optional<Deadline> d = internal::LoadById(txn, tenant, deadline_id);
  if (!d.has_value() || d->state != DeadlineState::kOpen || !d->next_alert_at.has_value() ||
      !d->next_offset.has_value()) {
    return result;
  }
  if (*d->next_alert_at > now) {
    result.next_alert_at = d->next_alert_at;
    return result;
  }
  Alert a;
  a.alert_id = NewId("alrt");
  a.tenant = d->tenant;
  a.deadline_id = d->deadline_id;
  a.kind = d->kind;
  a.resource = d->resource;
  a.due_version = d->due_version;
  a.offset = *d->next_offset;
  a.due_at = d->due_at;
  a.fire_at = *d->next_alert_at;
  a.fired_at = now;
  a.payload = Payload(a);
  SQLite::Statement& insert = txn.Prepare(
      "INSERT INTO deadline_alerts (tenant_id, alert_id, deadline_id, kind, resource, "
      "due_version, offset_us, due_at_us, fire_at_us, fired_at_us, payload) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, a.tenant);
  insert.bind(2, a.alert_id);
  insert.bind(3, a.deadline_id);
  insert.bind(4, a.kind);
  insert.bind(5, a.resource);
  insert.bind(6, a.due_version);
  insert.bind(7, DurUs(a.offset));
  insert.bind(8, Us(a.due_at));
  insert.bind(9, Us(a.fire_at));
  insert.bind(10, Us(a.fired_at));
  insert.bind(11, a.payload);
  insert.exec();
  a.seq = txn.db().getLastInsertRowid();
  for (const std::string& sink : sinks) {
    SQLite::Statement& delivery = txn.Prepare(
        "INSERT INTO deadline_alert_deliveries (alert_seq, sink, tenant_id, state, "
        "next_attempt_us) VALUES (?, ?, ?, 'pending', ?)");
    delivery.bind(1, a.seq);
    delivery.bind(2, sink);
    delivery.bind(3, a.tenant);
    delivery.bind(4, Us(now));
    delivery.exec();
  }
  // Advance to the following level (under the same due time).
  ++d->levels_fired;
  d->next_offset = NextLevelAfter(levels, a.offset);
  if (d->next_offset.has_value()) {
    d->next_alert_at = d->due_at + *d->next_offset;
  } else {
    d->next_alert_at.reset();
  }
  d->updated_at = now;
  SQLite::Statement& advance = txn.Prepare(
      "UPDATE deadlines SET levels_fired = ?, next_offset_us = ?, next_fire_at_us = ?, "
      "updated_at_us = ? WHERE tenant_id = ? AND deadline_id = ?");
  advance.bind(1, d->levels_fired);
  if (d->next_offset.has_value()) {
    advance.bind(2, DurUs(*d->next_offset));
    advance.bind(3, Us(*d->next_alert_at));
  } else {
    advance.bind(2);
    advance.bind(3);
  }
  advance.bind(4, Us(now));
  advance.bind(5, d->tenant);
  advance.bind(6, d->deadline_id);
  advance.exec();
  result.fired = std::move(a);
  result.next_alert_at = d->next_alert_at;
  return result;
}

}  // namespace dsar::deadline
