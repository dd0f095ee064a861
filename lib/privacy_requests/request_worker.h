// RequestWorker: the steps of privacy requests that are not answers to a call.
//
//  - builds the export bundle once every export task finished, and completes
//    the access or portability request (deadlines met, identifiers destroyed);
//  - sends the verification export once every erase task is done;
//  - completes an erasure once the verification found nothing left: dsard's
//    own records of the person (consent history, the request's subject keys)
//    are anonymised and the sealed identifiers destroyed in that transaction;
//  - expires bundles (default 7 days): the wrapped key is destroyed in the
//    database, then the file is deleted;
//  - delivers status callbacks (a second thread, a delivery::BackgroundLoop
//    woken by WorkSignal::WakeCallbacks, so a slow receiver never delays the
//    requests). The step loop keeps its own wait (WorkSignal::WaitForWork):
//    a wake-up from inside a transaction first waits for that commit.
//
// Each step reads the state it acts on again inside its own transaction, so a
// step repeated after a crash or run twice does nothing the second time. The
// worker is woken by the hooks and the API (RequestEnv::signal) and also polls
// (options.worker_poll), which after a restart picks up whatever was left.
// The steps of one pass run on a small pool, so bundles are built in
// parallel and their completions commit in shared groups.
// Time comes from the injected Clock; tests call RunOnce() and
// DeliverCallbacksOnce() instead of starting the threads.
//
// Thread-safe; Start/Stop are called by one owner.
#ifndef DSAR_LIB_PRIVACY_REQUESTS_REQUEST_WORKER_H_
#define DSAR_LIB_PRIVACY_REQUESTS_REQUEST_WORKER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "lib/connector/worker_pool.h"
#include "lib/delivery/background_loop.h"
#include "lib/privacy_requests/callbacks.h"
#include "lib/privacy_requests/request.h"
#include "lib/privacy_requests/request_env.h"

namespace dsar::privacy_requests {

class RequestWorker {
 public:
  explicit RequestWorker(RequestEnv* env);
  ~RequestWorker();
  RequestWorker(const RequestWorker&) = delete;
  RequestWorker& operator=(const RequestWorker&) = delete;

  // Removes export files no request needs any more (left by a crash), then
  // starts the threads.
  void Start();
  // Stops and joins the threads; idempotent.
  void Stop();

  // One pass: requests needing a step, expired bundles, pending clean-ups.
  // Returns how many steps were taken.
  int RunOnce();
  // Delivers the status callbacks due now; returns how many were attempted.
  int DeliverCallbacksOnce();
  // Removes files of requests that are closed without an available bundle.
  int SweepExportDir();

 private:
  void Loop();
  // Delivers due callbacks; the wait until the next is due.
  absl::Duration CallbackPass();
  absl::Status Step(const std::string& tenant, const std::string& id);
  absl::Status Assemble(const PrivacyRequest& r);
  absl::Status SendVerification(const PrivacyRequest& r);
  // A part of `task_id` was lost or torn: that connector's export is sent
  // again (at most kMaxReexports times per connector, then DATA_LOSS).
  absl::Status Reexport(const PrivacyRequest& r, const std::string& task_id);
  absl::Status CompleteErasure(const PrivacyRequest& r);
  absl::Status Fail(const PrivacyRequest& r, const std::string& reason);
  int ExpireDue();
  int Cleanup();

  RequestEnv* const env_;
  absl::Mutex run_mu_;  // one pass at a time (the loop, or a test's RunOnce)
  // Steps of one pass run in parallel (bundle I/O overlaps, and their
  // transactions share group commits).
  connector::WorkerPool pool_;
  std::atomic<bool> stopped_{false};
  absl::Mutex callbacks_mu_;
  CallbackSender callbacks_ ABSL_GUARDED_BY(callbacks_mu_);
  std::thread loop_;
  delivery::BackgroundLoop callback_loop_;
  bool started_ = false;
};

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_REQUEST_WORKER_H_
