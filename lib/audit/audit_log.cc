#include "lib/audit/audit_log.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/core/errors.h"
#include "lib/core/log.h"
#include "lib/store/multi_row.h"

namespace dsar::audit {
namespace {

const std::string& GenesisHash() {
  static const std::string* const genesis = new std::string(64, '0');
  return *genesis;
}

// Length-prefixed so that no two different events encode the same bytes.
void AppendField(std::string& out, absl::string_view field) {
  absl::StrAppend(&out, field.size(), ":", field, ";");
}

constexpr char kSelectColumns[] =
    "SELECT seq, tenant_id, time_us, principal, role, method, resource, outcome, "
    "request_id, prev_hash, hash, peer, count, reason FROM audit_events ";

AuditEvent RowToEvent(SQLite::Statement& row) {
  AuditEvent e;
  e.seq = row.getColumn(0).getInt64();
  e.tenant = row.getColumn(1).getString();
  e.time = absl::FromUnixMicros(row.getColumn(2).getInt64());
  e.principal = row.getColumn(3).getString();
  e.role = row.getColumn(4).getString();
  e.method = row.getColumn(5).getString();
  e.resource = row.getColumn(6).getString();
  e.outcome = row.getColumn(7).getString();
  e.request_id = row.getColumn(8).getString();
  e.prev_hash = row.getColumn(9).getString();
  e.hash = row.getColumn(10).getString();
  e.peer = row.getColumn(11).getString();
  e.count = row.getColumn(12).getInt64();
  e.reason = row.getColumn(13).getString();
  return e;
}

}  // namespace

std::string ComputeHash(const AuditEvent& e) {
  std::string canonical;
  AppendField(canonical, absl::StrCat(e.seq));
  AppendField(canonical, e.tenant);
  AppendField(canonical, absl::StrCat(absl::ToUnixMicros(e.time)));
  AppendField(canonical, e.principal);
  AppendField(canonical, e.role);
  AppendField(canonical, e.method);
  AppendField(canonical, e.resource);
  AppendField(canonical, e.outcome);
  AppendField(canonical, e.request_id);
  AppendField(canonical, e.prev_hash);
  // Rows written before migration 21 have none of these: they hash as before.
  if (!e.peer.empty() || e.count != 1 || !e.reason.empty()) {
    AppendField(canonical, e.peer);
    AppendField(canonical, absl::StrCat(e.count));
    AppendField(canonical, e.reason);
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(canonical.data()),
                     canonical.size());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

absl::Status Append(store::WriteTxn& txn, const CallContext& ctx, absl::string_view resource,
                    absl::string_view outcome, absl::Time now) {
  return AppendBatch(txn, {PendingEvent{&ctx, std::string(resource), std::string(outcome)}}, now);
}

absl::Status AppendBatch(store::WriteTxn& txn, const std::vector<PendingEvent>& pending,
                         absl::Time now) {
  if (pending.empty()) return absl::OkStatus();
  int64_t seq = 0;
  std::string prev_hash = GenesisHash();
  SQLite::Statement& head = txn.Prepare("SELECT seq, hash FROM audit_head WHERE id = 1");
  if (head.executeStep()) {
    seq = head.getColumn(0).getInt64();
    prev_hash = head.getColumn(1).getString();
  }
  head.reset();

  std::vector<AuditEvent> events(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    AuditEvent& e = events[i];
    const CallContext& ctx = *pending[i].ctx;
    e.seq = ++seq;
    e.tenant = ctx.tenant;
    e.time = pending[i].time == absl::InfinitePast() ? now : pending[i].time;
    e.principal = ctx.principal;
    e.role = RoleName(ctx.role);
    e.method = ctx.method;
    e.resource = pending[i].resource;
    e.outcome = pending[i].outcome;
    e.request_id = ctx.idempotency_key.value();
    e.peer = pending[i].peer;
    e.count = pending[i].count;
    e.reason = pending[i].reason;
    e.prev_hash = std::move(prev_hash);
    e.hash = ComputeHash(e);
    prev_hash = e.hash;
  }

  store::ExecMultiRow(
      txn,
      "INSERT INTO audit_events (seq, tenant_id, time_us, principal, role, method, resource, "
      "outcome, request_id, prev_hash, hash, peer, count, reason) VALUES ",
      14, "", events.size(), [&](SQLite::Statement& insert, int& p, size_t i) {
        const AuditEvent& e = events[i];
        // SQLITE_STATIC: `events` outlives the statement's execution.
        insert.bind(p++, static_cast<int64_t>(e.seq));
        insert.bindNoCopy(p++, e.tenant);
        insert.bind(p++, static_cast<int64_t>(absl::ToUnixMicros(e.time)));
        insert.bindNoCopy(p++, e.principal);
        insert.bindNoCopy(p++, e.role);
        insert.bindNoCopy(p++, e.method);
        insert.bindNoCopy(p++, e.resource);
        insert.bindNoCopy(p++, e.outcome);
        insert.bindNoCopy(p++, e.request_id);
        insert.bindNoCopy(p++, e.prev_hash);
        insert.bindNoCopy(p++, e.hash);
        insert.bindNoCopy(p++, e.peer);
        insert.bind(p++, static_cast<int64_t>(e.count));
        insert.bindNoCopy(p++, e.reason);
      });

  SQLite::Statement& update = txn.Prepare(
      "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
      "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash");
  update.bind(1, static_cast<int64_t>(events.back().seq));
  update.bind(2, events.back().hash);
  update.exec();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AuditEvent>> List(store::Store& store, const ListOptions& options) {
  if (options.tenant.empty()) return absl::InvalidArgumentError("tenant is required");
  if (options.page_size < 1 || options.page_size > 1000) {
    return absl::InvalidArgumentError("page_size must be between 1 and 1000");
  }
  std::vector<AuditEvent> events;
  absl::Status status = store.Read([&](store::ReadTxn& txn) {
    if (!options.with_unattributed) {
      SQLite::Statement& q = txn.Prepare(
          absl::StrCat(kSelectColumns, "WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?"));
      q.bind(1, options.tenant);
      q.bind(2, static_cast<int64_t>(options.after_seq));
      q.bind(3, options.page_size);
      while (q.executeStep()) events.push_back(RowToEvent(q));
      q.reset();
      return absl::OkStatus();
    }
    // The tenant's page and the unattributed page, each read in seq order
    // from audit_events_by_tenant, merged: at most two pages read.
    const std::string one_page =
        absl::StrCat(kSelectColumns, "WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?");
    SQLite::Statement& q =
        txn.Prepare(absl::StrCat("SELECT * FROM (", one_page, ") UNION ALL SELECT * FROM (",
                                 one_page, ") ORDER BY seq LIMIT ?"));
    q.bind(1, options.tenant);
    q.bind(2, static_cast<int64_t>(options.after_seq));
    q.bind(3, options.page_size);
    q.bind(4, std::string(kNoTenant));
    q.bind(5, static_cast<int64_t>(options.after_seq));
    q.bind(6, options.page_size);
    q.bind(7, options.page_size);
    while (q.executeStep()) events.push_back(RowToEvent(q));
    q.reset();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return events;
}

absl::StatusOr<EventPage> ListPage(store::Store& store, absl::string_view tenant, int page_size,
                                   absl::string_view page_token, bool with_unattributed) {
  ListOptions options;
  options.tenant = std::string(tenant);
  options.with_unattributed = with_unattributed;
  options.page_size = page_size == 0 ? 100 : page_size;
  FieldErrors errors;
  if (options.page_size < 1 || options.page_size > 1000) {
    errors.Add("page_size", "must be between 0 and 1000");
  }
  if (!page_token.empty() &&
      (!absl::SimpleAtoi(page_token, &options.after_seq) || options.after_seq < 0)) {
    errors.Add("page_token", "not a token returned by ListAuditEvents");
  }
  if (!errors.empty()) return errors.ToStatus();
  auto events = List(store, options);
  if (!events.ok()) return events.status();
  EventPage page;
  if (static_cast<int>(events->size()) == options.page_size) {
    page.next_page_token = absl::StrCat(events->back().seq);
  }
  page.events = *std::move(events);
  return page;
}

Head ReadHead(store::ReadTxn& txn) {
  Head head;
  head.hash = GenesisHash();
  SQLite::Statement& q = txn.Prepare("SELECT seq, hash FROM audit_head WHERE id = 1");
  if (q.executeStep()) {
    head.seq = q.getColumn(0).getInt64();
    head.hash = q.getColumn(1).getString();
  }
  q.reset();
  return head;
}

absl::StatusOr<Head> ReadHead(store::Store& store) {
  Head head;
  absl::Status status = store.Read([&](store::ReadTxn& txn) {
    head = ReadHead(txn);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return head;
}

absl::StatusOr<VerifyResult> Verify(store::Store& store) {
  return VerifyAfter(store, 0, GenesisHash());
}

absl::StatusOr<VerifyResult> VerifyAfter(store::Store& store, int64_t after_seq,
                                         const std::string& after_hash) {
  VerifyResult result;
  result.from_seq = after_seq + 1;
  absl::Status status = store.Read([&](store::ReadTxn& txn) {
    auto fail = [&](int64_t seq, std::string reason) {
      result.ok = false;
      result.first_bad_seq = seq;
      result.reason = std::move(reason);
    };
    SQLite::Statement& q = txn.Prepare(absl::StrCat(kSelectColumns, "WHERE seq > ? ORDER BY seq"));
    q.bind(1, static_cast<int64_t>(after_seq));
    int64_t expected_seq = after_seq + 1;
    std::string expected_prev = after_hash;
    while (q.executeStep()) {
      AuditEvent e = RowToEvent(q);
      ++result.rows_checked;
      if (e.seq != expected_seq) {
        fail(expected_seq,
             absl::StrCat("row ", expected_seq, " is missing (next row is ", e.seq, ")"));
        break;
      }
      if (e.prev_hash != expected_prev) {
        fail(e.seq, "prev_hash does not match the previous row's hash");
        break;
      }
      if (ComputeHash(e) != e.hash) {
        fail(e.seq, "content does not match its hash (row altered or moved)");
        break;
      }
      expected_prev = e.hash;
      ++expected_seq;
    }
    q.reset();
    if (!result.ok) return absl::OkStatus();
    int64_t last_seq = expected_seq - 1;
    SQLite::Statement& head = txn.Prepare("SELECT seq, hash FROM audit_head WHERE id = 1");
    int64_t head_seq = 0;
    std::string head_hash = GenesisHash();
    if (head.executeStep()) {
      head_seq = head.getColumn(0).getInt64();
      head_hash = head.getColumn(1).getString();
    }
    head.reset();
    if (head_seq != last_seq || head_hash != expected_prev) {
      fail(last_seq + 1, absl::StrCat("chain ends at row ", last_seq, " but its head says row ",
                                      head_seq, " (rows deleted from the end)"));
      return absl::OkStatus();
    }
    result.head_hash = expected_prev;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

}  // namespace dsar::audit
