#include "lib/privacy_requests/retention.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "lib/connector/registry.h"
#include "lib/consent/subject_keyer.h"
#include "lib/core/clock.h"
#include "lib/core/errors.h"
#include "lib/core/log.h"
#include "lib/deadline/deadlines.h"
#include "lib/deadline/kinds.h"
#include "lib/privacy_requests/identifiers.h"
#include "lib/privacy_requests/request_rows.h"
#include "lib/store/idempotency.h"
#include "lib/store/store.h"

namespace dsar::privacy_requests {
namespace {

constexpr int kPageSize = 100;
constexpr int kMaxPages = 1000;  // per connector and tenant and scan
constexpr char kReviewResource[] = "retention/held";
constexpr absl::Duration kFirstRetry = absl::Seconds(5);

}  // namespace

RetentionJob::RetentionJob(RequestEnv* env, PrivacyRequests* requests,
                           absl::flat_hash_map<std::string, connector::ConnectorClient*> clients,
                           std::vector<std::string> tenants)
    : env_(env),
      requests_(requests),
      clients_(std::move(clients)),
      tenants_(std::move(tenants)),
      retry_(kFirstRetry),
      loop_([this] { return ScheduledScan(); }) {}

RetentionJob::~RetentionJob() { Stop(); }

void RetentionJob::Start() {
  if (env_->options.retention_scan_interval <= absl::ZeroDuration() || clients_.empty()) return;
  loop_.Start();
}

void RetentionJob::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  loop_.Stop();
}

absl::Duration RetentionJob::ScheduledScan() {
  const absl::Duration interval = env_->options.retention_scan_interval;
  ScanResult r = RunOnce();
  log::Info("retention_scan", {{"listed", r.listed},
                               {"ignored", r.ignored},
                               {"filed", r.filed},
                               {"duplicates", r.duplicates},
                               {"held", r.held},
                               {"capped_tenants", r.capped_tenants},
                               {"failed", r.failed}});
  // A connector that could not be listed (e.g. not up yet at start) is
  // asked again soon rather than after a whole interval. Real time: the
  // interval is a schedule, not a deadline.
  if (r.failed == 0) {
    retry_ = kFirstRetry;
    return interval;
  }
  const absl::Duration wait = std::min(retry_, interval);
  retry_ = std::min(retry_ * 2, interval);
  return wait;
}

bool RetentionJob::Collect(const std::string& tenant, absl::Time cutoff,
                           std::vector<Candidate>& out, ScanResult& result) {
  absl::flat_hash_map<std::string, size_t> by_key;  // keyed identifier -> person in `out`
  for (const connector::ConnectorInfo* c :
       env_->registry->Targets(tenant, connector::TaskKind::kSubjectErase, "")) {
    auto client = clients_.find(c->name);
    if (client == clients_.end()) continue;
    std::string token;
    int too_recent = 0;
    for (int page = 0; page < kMaxPages; ++page) {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return false;
      }
      auto listed =
          client->second->ListEndedRelationships(tenant, cutoff, kPageSize, token, c->call_timeout);
      if (!listed.ok()) {
        ++result.failed;
        log::Warn("retention_list_failed",
                  {{"connector", c->name},
                   {"tenant", tenant},
                   {"code", absl::StatusCodeToString(listed.status().code())}});
        break;
      }
      for (auto& ended : listed->relationships) {
        ++result.listed;
        // The connector's word is not enough: the end date must lie before
        // the cut-off (an unset one reads as 1970 and is not trusted either).
        if (ended.end_time >= cutoff || ended.end_time <= absl::UnixEpoch()) {
          ++result.ignored;
          ++too_recent;
          continue;
        }
        std::vector<SubjectIdentifier> ids;
        for (auto& id : ended.subject) ids.push_back({id.type, std::move(id.value)});
        FieldErrors errors;
        NormaliseIdentifiers(ids, errors);
        if (!errors.empty()) {
          ++result.failed;
          continue;
        }
        // The same person listed by another system (an identifier in common).
        size_t index = out.size();
        const std::vector<std::string> keys = SubjectKeys(*env_->keyer, tenant, ids);
        for (const std::string& k : keys) {
          if (auto it = by_key.find(k); it != by_key.end()) {
            index = it->second;
            break;
          }
        }
        if (index == out.size()) out.emplace_back();
        Candidate& person = out[index];
        for (auto& id : ids) {
          const bool known =
              std::any_of(person.identifiers.begin(), person.identifiers.end(),
                          [&](const SubjectIdentifier& p) { return p.type == id.type; });
          if (!known) person.identifiers.push_back(std::move(id));
        }
        if (std::find(person.systems.begin(), person.systems.end(), c->name) ==
            person.systems.end()) {
          person.systems.push_back(c->name);
          std::sort(person.systems.begin(), person.systems.end());
        }
        for (const std::string& k : keys) by_key.emplace(k, index);
      }
      token = listed->next_page_token;
      if (token.empty()) break;
    }
    if (too_recent > 0) {
      log::Warn("retention_end_date_not_before_cutoff",
                {{"connector", c->name}, {"tenant", tenant}, {"ignored", too_recent}});
    }
  }
  return true;
}

void RetentionJob::File(const std::string& tenant, Candidate candidate, bool held,
                        ScanResult& result) {
  CreateInput in;
  in.type = RequestType::kErasure;
  in.source = RequestSource::kRetention;
  in.requester.relation = RequesterRelation::kController;
  in.requester.channel = "retention";
  // The same for every system listing the person and every scan, so a
  // repeated listing replays the first filing (idempotency).
  in.requester.reference = held ? "retention rule (held for review)" : "retention rule";
  if (!held) {
    in.verification = Verification{VerificationMethod::kOther,
                                   "controller-initiated erasure under the retention rule; no "
                                   "identity to verify",
                                   "", absl::InfinitePast()};
  }
  in.identifiers = std::move(candidate.identifiers);
  in.only_systems = std::move(candidate.systems);
  // The request id names the person only through keyed HMACs.
  std::string keys;
  for (const auto& k : SubjectKeys(*env_->keyer, tenant, in.identifiers)) absl::StrAppend(&keys, k);
  for (const auto& system : in.only_systems) absl::StrAppend(&keys, "|", system);
  CallContext ctx;
  ctx.principal = "dsard-retention";
  ctx.role = Role::kService;
  ctx.tenant = tenant;
  ctx.method = "dsard/requests.Retention";
  ctx.idempotency_key =
      IdempotencyKey(absl::StrCat(held ? "retention-held-" : "retention-",
                                  absl::BytesToHexString(store::Fingerprint(keys)).substr(0, 32)));
  absl::Notification done;
  absl::StatusOr<Created> created = absl::UnknownError("not filed");
  requests_->Create(ctx, std::move(in), [&](absl::StatusOr<Created> c) {
    created = std::move(c);
    done.Notify();
  });
  done.WaitForNotification();
  if (!created.ok()) {
    ++result.failed;
    log::Warn("retention_filing_failed",
              {{"tenant", tenant}, {"code", absl::StatusCodeToString(created.status().code())}});
    return;
  }
  if (created->duplicate) {
    ++result.duplicates;
  } else {
    ++result.filed;
  }
  if (held) ++result.held;
}

void RetentionJob::RaiseReviewAlert(const std::string& tenant, int found) {
  const absl::Time now = env_->clock->Now();
  const deadline::Deadlines* deadlines = env_->deadlines;
  absl::Status s = env_->store->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    // Due now (the kind's period is one second): the "due" alert fires at
    // once, and only it, then a reminder per overdue interval.
    auto scheduled = deadlines->Schedule(
        txn, {tenant, deadline::kRetentionReview, kReviewResource, now - absl::Seconds(1)}, now);
    if (absl::IsAlreadyExists(scheduled.status())) return absl::OkStatus();  // still open
    return scheduled.status();
  });
  log::Warn("retention_scan_held_for_review",
            {{"tenant", tenant},
             {"found", found},
             {"cap", env_->options.retention_max_erasures_per_scan},
             {"alert", s.ok() ? "raised" : absl::StatusCodeToString(s.code())}});
}

void RetentionJob::SettleReviewAlert(const std::string& tenant) {
  const absl::Time now = env_->clock->Now();
  const deadline::Deadlines* deadlines = env_->deadlines;
  absl::Status s = env_->store->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    const deadline::DeadlineKey key{tenant, deadline::kRetentionReview, kReviewResource};
    auto open = deadlines->Find(txn, key);
    if (!open.ok() || open->state != deadline::DeadlineState::kOpen) return absl::OkStatus();
    if (rows::CountHeldRetention(txn, tenant) > 0) return absl::OkStatus();
    return deadlines->Complete(txn, key, now).status();
  });
  if (!s.ok()) {
    log::Warn("retention_review_settle_failed",
              {{"tenant", tenant}, {"code", absl::StatusCodeToString(s.code())}});
  }
}

RetentionJob::ScanResult RetentionJob::RunOnce() {
  absl::MutexLock run(&run_mu_);
  ScanResult result;
  const absl::Time cutoff = env_->clock->Now() - env_->options.relationship_retention;
  for (const std::string& tenant : tenants_) {
    SettleReviewAlert(tenant);
    std::vector<Candidate> candidates;
    if (!Collect(tenant, cutoff, candidates, result)) return result;
    const int cap = env_->options.retention_max_erasures_per_scan;
    const bool over_cap = static_cast<int>(candidates.size()) > cap;
    if (over_cap) {
      ++result.capped_tenants;
      RaiseReviewAlert(tenant, static_cast<int>(candidates.size()));
    }
    const bool held = over_cap || env_->options.retention_review;
    for (Candidate& c : candidates) {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return result;
      }
      File(tenant, std::move(c), held, result);
    }
  }
  return result;
}

}  // namespace dsar::privacy_requests
