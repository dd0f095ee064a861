#include "lib/requests/retention.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "lib/connector/registry.h"
#include "lib/consent/subject_keyer.h"
#include "lib/core/clock.h"
#include "lib/core/errors.h"
#include "lib/core/log.h"
#include "lib/requests/identifiers.h"
#include "lib/store/idempotency.h"

namespace dsar::requests {
namespace {

constexpr int kPageSize = 100;
constexpr int kMaxPages = 1000;  // per connector and tenant and scan

}  // namespace

RetentionJob::RetentionJob(RequestEnv* env, PrivacyRequests* requests,
                           absl::flat_hash_map<std::string, connector::ConnectorClient*> clients,
                           std::vector<std::string> tenants)
    : env_(env), requests_(requests), clients_(std::move(clients)), tenants_(std::move(tenants)) {}

RetentionJob::~RetentionJob() { Stop(); }

void RetentionJob::Start() {
  if (env_->options.retention_scan_interval <= absl::ZeroDuration() || clients_.empty()) return;
  thread_ = std::thread([this] { Loop(); });
}

void RetentionJob::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

void RetentionJob::Loop() {
  for (;;) {
    ScanResult r = RunOnce();
    log::Info("retention_scan", {{"listed", r.listed},
                                 {"filed", r.filed},
                                 {"duplicates", r.duplicates},
                                 {"failed", r.failed}});
    absl::MutexLock lock(&mu_);
    absl::Time until = absl::Now() + env_->options.retention_scan_interval;
    while (!stopping_ && !cv_.WaitWithDeadline(&mu_, until)) {
    }
    if (stopping_) return;
  }
}

RetentionJob::ScanResult RetentionJob::RunOnce() {
  absl::MutexLock run(&run_mu_);
  ScanResult result;
  const absl::Time cutoff = env_->clock->Now() - env_->options.relationship_retention;
  for (const std::string& tenant : tenants_) {
    for (const connector::ConnectorInfo* c :
         env_->registry->Targets(tenant, connector::TaskKind::kSubjectErase, "")) {
      auto client = clients_.find(c->name);
      if (client == clients_.end()) continue;
      std::string token;
      for (int page = 0; page < kMaxPages; ++page) {
        {
          absl::MutexLock lock(&mu_);
          if (stopping_) return result;
        }
        auto listed = client->second->ListEndedRelationships(tenant, cutoff, kPageSize, token,
                                                             c->call_timeout);
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
          CreateInput in;
          in.type = RequestType::kErasure;
          in.source = RequestSource::kRetention;
          in.requester.relation = RequesterRelation::kController;
          in.requester.channel = "retention";
          // The same for every system listing the person and every scan, so
          // a repeated listing replays the first filing (idempotency).
          in.requester.reference = "retention rule";
          in.verification = Verification{VerificationMethod::kOther,
                                         "controller-initiated erasure under the retention "
                                         "rule; no identity to verify",
                                         "", absl::InfinitePast()};
          for (auto& id : ended.subject) in.identifiers.push_back({id.type, std::move(id.value)});
          // The request id names the person only through keyed HMACs.
          FieldErrors errors;
          NormaliseIdentifiers(in.identifiers, errors);
          if (!errors.empty()) {
            ++result.failed;
            continue;
          }
          std::string keys;
          for (const auto& k : SubjectKeys(*env_->keyer, tenant, in.identifiers)) {
            absl::StrAppend(&keys, k);
          }
          RequestContext ctx;
          ctx.principal = "dsard-retention";
          ctx.role = Role::kService;
          ctx.tenant = tenant;
          ctx.method = "dsard/requests.Retention";
          ctx.request_id = absl::StrCat(
              "retention-", absl::BytesToHexString(store::Fingerprint(keys)).substr(0, 32));
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
                      {{"connector", c->name},
                       {"tenant", tenant},
                       {"code", absl::StatusCodeToString(created.status().code())}});
          } else if (created->duplicate) {
            ++result.duplicates;
          } else {
            ++result.filed;
          }
        }
        token = listed->next_page_token;
        if (token.empty()) break;
      }
    }
  }
  return result;
}

}  // namespace dsar::requests
