#include "lib/audit/refusal_recorder.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "lib/audit/audit_log.h"
#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/store/store.h"

namespace dsar::audit {
namespace {

std::string Printable(absl::string_view text, size_t max) {
  std::string out(text.substr(0, max));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

}  // namespace

std::string PeerAddress(absl::string_view peer) {
  if (absl::ConsumePrefix(&peer, "ipv4:")) {
    size_t colon = peer.rfind(':');
    return Printable(colon == absl::string_view::npos ? peer : peer.substr(0, colon), 64);
  }
  if (absl::ConsumePrefix(&peer, "ipv6:")) {
    if (absl::ConsumePrefix(&peer, "[")) {
      size_t close = peer.find(']');
      return Printable(close == absl::string_view::npos ? peer : peer.substr(0, close), 64);
    }
    return Printable(peer, 64);
  }
  if (absl::StartsWith(peer, "unix:")) return "unix";
  if (peer.empty()) return "unknown";
  return Printable(peer, 64);
}

std::string SanitiseRequestId(absl::string_view request_id) { return Printable(request_id, 128); }

RefusalRecorder::RefusalRecorder(store::Store* store, Clock* clock, RefusalRecorderOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      window_start_(clock->Now()),
      loop_([this] { return std::max(FlushIfDue(), absl::Milliseconds(100)); }, options.window) {}

RefusalRecorder::~RefusalRecorder() { Stop(); }

void RefusalRecorder::Start() { loop_.Start(); }

void RefusalRecorder::Stop() {
  if (loop_.stopping()) return;
  loop_.Stop();
  (void)Flush();
}

void RefusalRecorder::Record(const Refusal& refusal) {
  const absl::Time now = clock_->Now();
  absl::flat_hash_map<Key, Tally> due;
  {
    absl::MutexLock lock(&mu_);
    if (now - window_start_ >= options_.window) due = TakeLocked(now);
    ++recorded_;
    Key key{refusal.peer, refusal.principal, refusal.tenant, refusal.code, refusal.reason};
    auto it = tallies_.find(key);
    if (it == tallies_.end() && static_cast<int>(tallies_.size()) >= options_.max_keys) {
      // Beyond the window's keys: one row per code and reason for the rest.
      key = Key{"*", "*", kNoTenant, refusal.code, refusal.reason};
      it = tallies_.find(key);
    }
    if (it == tallies_.end()) {
      Tally tally;
      tally.role = std::get<0>(key) == "*" ? Role::kUnspecified : refusal.role;
      tally.first = now;
      tally.order = recorded_;
      tally.method = refusal.method;
      tally.request_id = SanitiseRequestId(refusal.request_id);
      it = tallies_.emplace(std::move(key), std::move(tally)).first;
    } else if (it->second.method != refusal.method) {
      it->second.method = "*";
    }
    ++it->second.count;
  }
  if (!due.empty()) (void)Write(std::move(due), /*wait=*/false);
}

absl::Duration RefusalRecorder::FlushIfDue() {
  const absl::Time now = clock_->Now();
  absl::flat_hash_map<Key, Tally> due;
  absl::Duration left;
  {
    absl::MutexLock lock(&mu_);
    if (now - window_start_ >= options_.window) due = TakeLocked(now);
    left = window_start_ + options_.window - now;
  }
  if (!due.empty()) (void)Write(std::move(due), /*wait=*/false);
  return left;
}

absl::Status RefusalRecorder::Flush() {
  absl::flat_hash_map<Key, Tally> due;
  {
    absl::MutexLock lock(&mu_);
    due = TakeLocked(clock_->Now());
  }
  if (due.empty()) return absl::OkStatus();
  return Write(std::move(due), /*wait=*/true);
}

int64_t RefusalRecorder::recorded() const {
  absl::MutexLock lock(&mu_);
  return recorded_;
}

absl::flat_hash_map<RefusalRecorder::Key, RefusalRecorder::Tally> RefusalRecorder::TakeLocked(
    absl::Time now) {
  window_start_ = now;
  return std::exchange(tallies_, {});
}

absl::Status RefusalRecorder::Write(absl::flat_hash_map<Key, Tally> tallies, bool wait) {
  // Rows in the order their first refusal came, so the chain reads in time.
  struct Row {
    CallContext ctx;
    PendingEvent event;
    int64_t order;
  };
  std::vector<Row> rows;
  rows.reserve(tallies.size());
  for (auto& [key, tally] : tallies) {
    Row row;
    row.ctx.principal = std::get<1>(key);
    row.ctx.role = tally.role;
    row.ctx.tenant = std::get<2>(key);
    row.ctx.method = std::move(tally.method);
    row.ctx.idempotency_key = IdempotencyKey(std::move(tally.request_id));
    row.event.resource = "-";
    row.event.outcome = std::get<3>(key);
    row.event.peer = std::get<0>(key);
    row.event.count = tally.count;
    row.event.reason = std::get<4>(key);
    row.event.time = tally.first;
    row.order = tally.order;
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.order < b.order; });
  const int64_t count = static_cast<int64_t>(rows.size());
  auto write = [rows = std::move(rows), now = clock_->Now()](store::WriteTxn& txn) mutable {
    std::vector<PendingEvent> events;
    events.reserve(rows.size());
    for (Row& row : rows) {
      row.event.ctx = &row.ctx;
      events.push_back(row.event);
    }
    return AppendBatch(txn, events, now);
  };
  auto report = [count](const absl::Status& s) {
    if (!s.ok()) {
      log::Warn("audit_refusals_failed",
                {{"code", absl::StatusCodeToString(s.code())}, {"rows", count}});
    }
  };
  if (!wait) {
    store_->Write(std::move(write), [report](absl::Status s) { report(s); });
    return absl::OkStatus();
  }
  absl::Status s = store_->WriteAndWait(std::move(write));
  report(s);
  return s;
}

}  // namespace dsar::audit
