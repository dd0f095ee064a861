// RetentionJob: the 12-month rule. Documents, e-mail and other personal data
// of customers whose relationship ended more than the retention period ago
// (default 12 months) are erased: the job asks every connector that takes
// erasures for the relationships that ended before the cut-off
// (ListEndedRelationships, paged) and files an ERASURE request for each
// person, source RETENTION, filed by the controller and needing no identity
// verification, so it runs at once through the ordinary erasure workflow
// (connector tasks, verification export, deadlines, audit).
//
// A person is filed once: the request_id is derived from the person's keyed
// identifiers, so a repeated scan replays the first filing (idempotency), and
// a person listed by two systems with other identifiers is linked as a
// duplicate of the open request.
//
// Runs on its own thread every `retention_scan_interval` (off when zero);
// RunOnce() is for tests and tools. Thread-safe.
#ifndef DSAR_LIB_REQUESTS_RETENTION_H_
#define DSAR_LIB_REQUESTS_RETENTION_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/connector/connector_client.h"
#include "lib/requests/privacy_requests.h"
#include "lib/requests/request_env.h"

namespace dsar::requests {

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
    int listed = 0;      // ended relationships found
    int filed = 0;       // requests filed (or found filed by an earlier scan)
    int duplicates = 0;  // linked to an open request for the same person
    int failed = 0;      // connector or filing errors (retried at the next scan)
  };
  // One scan over every tenant and connector; waits for the filings.
  ScanResult RunOnce();

 private:
  void Loop();

  RequestEnv* const env_;
  PrivacyRequests* const requests_;
  const absl::flat_hash_map<std::string, connector::ConnectorClient*> clients_;
  const std::vector<std::string> tenants_;
  absl::Mutex run_mu_;  // one scan at a time
  absl::Mutex mu_;
  absl::CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace dsar::requests

#endif  // DSAR_LIB_REQUESTS_RETENTION_H_
