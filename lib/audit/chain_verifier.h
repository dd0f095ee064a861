// ChainVerifier: VerifyAuditLog's work, off the request threads and
// incremental.
//
// Re-hashing the whole chain on a gRPC thread for every VerifyAuditLog let
// four concurrent calls hold every read connection and block every read.
// Here one thread of its own does the verifying: requests are queued and
// answered (through their callbacks) by the next pass, so requests that
// arrive together share one pass. A pass checks only the rows after the head
// it last verified, chained to that head's hash (kept in memory: a database
// rewritten behind dsard's back cannot move it); a full pass re-hashes every
// row from the first, when asked for (principals of all tenants) and as the
// first pass after start.
//
// Thread-safe. Callbacks run on the verifier's thread and must not block.
#ifndef DSAR_LIB_AUDIT_CHAIN_VERIFIER_H_
#define DSAR_LIB_AUDIT_CHAIN_VERIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/audit/audit_log.h"
#include "lib/delivery/background_loop.h"

namespace dsar::audit {

class ChainVerifier {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<VerifyResult>)>;

  // `store` must outlive the verifier. Starts its thread.
  explicit ChainVerifier(store::Store* store);
  ~ChainVerifier();  // Stop()
  ChainVerifier(const ChainVerifier&) = delete;
  ChainVerifier& operator=(const ChainVerifier&) = delete;

  // Queues a verification; `done` gets its result from the verifier's
  // thread: the rows after the last verified head, or every row when `full`
  // (or when nothing was verified yet). After Stop(), `done` gets
  // UNAVAILABLE at once.
  void Verify(bool full, Done done);
  // Answers what is queued with UNAVAILABLE and joins the thread. Idempotent.
  void Stop();

  // The head verified last (seq 0 before the first pass), for tests.
  int64_t verified_seq() const;

 private:
  struct Waiter {
    bool full;
    Done done;
  };
  absl::Duration Pass();

  store::Store* const store_;
  mutable absl::Mutex mu_;
  std::vector<Waiter> waiting_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  int64_t verified_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::string verified_hash_ ABSL_GUARDED_BY(mu_);
  delivery::BackgroundLoop loop_;
};

}  // namespace dsar::audit

#endif  // DSAR_LIB_AUDIT_CHAIN_VERIFIER_H_
