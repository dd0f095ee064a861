// RetentionJob: the 12-month rule. Documents, e-mail and other personal data
// of customers whose relationship ended more than the retention period ago
// (default 12 months) are erased: the job asks every connector that takes
// erasures for the relationships that ended before the cut-off
// (ListEndedRelationships, paged) and files an ERASURE request for each
// person, source RETENTION, filed by the controller, through the ordinary
// erasure workflow (connector tasks, verification export, deadlines, audit).
// Each system's data is stale by its own end date: the erasure goes to the
// systems that listed the person (PrivacyRequest::only_systems), not to a
// system where the person is still a customer.
//
// Safety. dsard checks every end date a connector returns against the
// cut-off itself: a person reported with a later end date, or none, is
// ignored (counted in `ignored`, logged without personal data). In automatic
// mode (the default) an erasure starts at once (no identity to verify); in
// review mode (options.retention_review) it waits in RECEIVED until the DPO
// verifies (approves) or rejects it. A scan of one tenant that finds more
// people than options.retention_max_erasures_per_scan holds every erasure
// for review, as review mode would, and raises one alert: a
// deadline::kRetentionReview deadline due at once (resource "retention/held";
// while it is open further scans add none), completed by the first scan that
// finds no held retention erasure of the tenant left in RECEIVED.
//
// A person is filed once per scan (the systems listing identifiers in common
// are merged) and once across scans: the request_id is derived from the
// person's keyed identifiers, the systems and whether the filing is held, so
// a repeated scan replays the first filing (idempotency); a person listed
// again while an earlier retention erasure is open is linked to it as a
// duplicate.
//
// Runs on its own thread (a delivery::BackgroundLoop) every
// `retention_scan_interval` (off when zero), the first scan at start; a scan
// in which a connector could not be listed is repeated after 5 s, doubling
// up to the interval. RunOnce() is for tests and
// tools. Thread-safe.
#ifndef DSAR_LIB_PRIVACY_REQUESTS_RETENTION_H_
#define DSAR_LIB_PRIVACY_REQUESTS_RETENTION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/connector/connector_client.h"
#include "lib/delivery/background_loop.h"
#include "lib/privacy_requests/privacy_requests.h"
#include "lib/privacy_requests/request_env.h"

namespace dsar::privacy_requests {

class RetentionJob {
 public:
  // `clients` by connector name (not owned; may be empty); `tenants` are the
  // tenant ids to scan for.
  RetentionJob(RequestEnv* env, PrivacyRequests* requests,
               absl::flat_hash_map<std::string, connector::ConnectorClient*> clients,
               std::vector<std::string> tenants);
  ~RetentionJob();

  // Starts the periodic scan (first one at once) when the interval is set.
  void Start();
  void Stop();

  struct ScanResult {
    int listed = 0;          // ended relationships found
    int ignored = 0;         // reported but not ended before the cut-off (or no end date)
    int filed = 0;           // requests filed (or found filed by an earlier scan)
    int duplicates = 0;      // linked to an open request for the same person
    int held = 0;            // of filed and duplicates: waiting for the DPO's review
    int capped_tenants = 0;  // tenants whose scan exceeded the cap (all held, alert raised)
    int failed = 0;          // connector or filing errors (retried at the next scan)
  };
  // One scan over every tenant and connector; waits for the filings.
  ScanResult RunOnce();

 private:
  // One person to erase: identifiers from every system that listed them
  // (normalised) and those systems, sorted.
  struct Candidate {
    std::vector<SubjectIdentifier> identifiers;
    std::vector<std::string> systems;
  };
  // One scheduled scan; the wait before the next.
  absl::Duration ScheduledScan();
  // Lists the tenant's ended relationships from every connector; false when
  // stopping.
  bool Collect(const std::string& tenant, absl::Time cutoff, std::vector<Candidate>& out,
               ScanResult& result);
  void File(const std::string& tenant, Candidate candidate, bool held, ScanResult& result);
  // Raises the tenant's review alert (once while open). Errors are logged.
  void RaiseReviewAlert(const std::string& tenant, int found);
  // Completes the tenant's review alert when no held erasure is left.
  void SettleReviewAlert(const std::string& tenant);

  RequestEnv* const env_;
  PrivacyRequests* const requests_;
  const absl::flat_hash_map<std::string, connector::ConnectorClient*> clients_;
  const std::vector<std::string> tenants_;
  absl::Mutex run_mu_;  // one scan at a time
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration retry_;  // the loop's thread only
  delivery::BackgroundLoop loop_;
};

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_RETENTION_H_
