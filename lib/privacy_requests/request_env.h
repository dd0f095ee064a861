// RequestEnv: what every part of the requests module shares (the API, the
// connector hooks, the export sinks and the worker): injected dependencies,
// options, the outbox (attached once the connector stack exists), and the
// signal that wakes the worker.
//
// Thread-safe: the pointers and options are fixed before any part runs; the
// outbox pointer is atomic; WorkSignal is internally synchronised.
#ifndef DSAR_LIB_PRIVACY_REQUESTS_REQUEST_ENV_H_
#define DSAR_LIB_PRIVACY_REQUESTS_REQUEST_ENV_H_

#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/delivery/background_loop.h"
#include "lib/privacy_requests/options.h"

namespace dsar {
class Clock;
namespace store {
class Store;
}
namespace deadline {
class Deadlines;
}
namespace consent {
class ConsentStateIndex;
class SubjectKeyer;
class PurposeCatalog;
}  // namespace consent
namespace connector {
class ConnectorRegistry;
class Outbox;
class PayloadSealer;
}  // namespace connector
}  // namespace dsar

namespace dsar::privacy_requests {

class KeyWrapper;

// Wakes the worker. `after_commit` asks it to let the store commit what is
// queued before it reads (used from inside a write transaction, whose effects
// are not yet visible to readers).
class WorkSignal {
 public:
  void Wake(bool after_commit) {
    absl::MutexLock lock(&mu_);
    woken_ = true;
    after_commit_ |= after_commit;
    cv_.SignalAll();
  }
  // Wakes the status-callback loop, if one is attached.
  void WakeCallbacks() {
    absl::MutexLock lock(&mu_);
    if (callback_loop_ != nullptr) callback_loop_->Wake();
  }
  // The loop WakeCallbacks wakes (null: none). It must stay alive until
  // detached.
  void AttachCallbackLoop(delivery::BackgroundLoop* loop) {
    absl::MutexLock lock(&mu_);
    callback_loop_ = loop;
  }
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  // Waits until woken, stopped or `timeout` passed (real time). Returns
  // false when stopping. Sets `*after_commit` as asked since the last wait.
  bool WaitForWork(absl::Duration timeout, bool* after_commit) {
    absl::MutexLock lock(&mu_);
    if (!woken_ && !stopping_) cv_.WaitWithTimeout(&mu_, timeout);
    *after_commit = after_commit_;
    woken_ = after_commit_ = false;
    return !stopping_;
  }

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool after_commit_ ABSL_GUARDED_BY(mu_) = false;
  delivery::BackgroundLoop* callback_loop_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

// Requests whose export files should be removed (cancelled, failed to
// assemble); drained by the worker.
class CleanupQueue {
 public:
  void Add(std::string tenant, std::string request_id) {
    absl::MutexLock lock(&mu_);
    items_.emplace_back(std::move(tenant), std::move(request_id));
  }
  std::vector<std::pair<std::string, std::string>> Take() {
    absl::MutexLock lock(&mu_);
    return std::exchange(items_, {});
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<std::string, std::string>> items_ ABSL_GUARDED_BY(mu_);
};

struct RequestEnv {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  const deadline::Deadlines* deadlines = nullptr;
  const consent::SubjectKeyer* keyer = nullptr;
  const connector::PayloadSealer* sealer = nullptr;  // identifiers at rest
  const KeyWrapper* key_wrapper = nullptr;           // per-request export keys
  const connector::ConnectorRegistry* registry = nullptr;
  const consent::PurposeCatalog* catalog = nullptr;     // controller details; may be null
  consent::ConsentStateIndex* consent_index = nullptr;  // erasure updates it; may be null
  RequestOptions options;
  std::atomic<connector::Outbox*> outbox{nullptr};  // null until attached / without connectors
  WorkSignal signal;
  CleanupQueue cleanup;
};

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_REQUEST_ENV_H_
