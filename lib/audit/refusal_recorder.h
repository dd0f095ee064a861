// RefusalRecorder: refused calls in the audit log without a write per call.
//
// Anyone who can reach the port can send calls without a valid token as fast
// as the network allows. One hash-chained audit row (and one queued write)
// per refusal let 100,000 such calls add 100,000 permanent rows in seconds:
// the disk and the writer's queue were the attacker's. Here a refusal only
// counts, in memory, under its key (peer address, principal or
// "unauthenticated", tenant, code, reason); each window's keys are written as
// one row each (audit::AppendBatch, one store write per window) with the
// count, the first time, the method (or "*" when several were called) and the
// first request id, sanitised. At most `max_keys` keys are kept per window;
// refusals beyond them count under one overflow key per code and reason with
// peer and principal "*", so a window never writes more than `max_keys` plus
// a handful of rows, however many addresses call.
//
// Thread-safe. Record() is a hash-map update under a mutex; the write is
// queued by the caller of Record() whose refusal found the window over, or by
// the recorder's delivery::BackgroundLoop at the window's end, or by Stop()
// (shutdown), never once per call.
#ifndef DSAR_LIB_AUDIT_REFUSAL_RECORDER_H_
#define DSAR_LIB_AUDIT_REFUSAL_RECORDER_H_

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/core/call_context.h"
#include "lib/delivery/background_loop.h"

namespace dsar {
class Clock;
namespace store {
class Store;
}
}  // namespace dsar

namespace dsar::audit {

// The principal of a refusal whose caller did not authenticate.
inline constexpr char kUnauthenticated[] = "unauthenticated";

// One refused call, as the transport saw it.
struct Refusal {
  std::string peer;       // the caller's address without port (PeerAddress)
  std::string principal;  // kUnauthenticated when not authenticated
  Role role = Role::kUnspecified;
  std::string tenant;      // kNoTenant when none
  std::string code;        // canonical code name, e.g. "UNAUTHENTICATED"
  std::string reason;      // ErrorInfo reason, e.g. "INVALID_CREDENTIALS"
  std::string method;      // full gRPC method name
  std::string request_id;  // as sent; sanitised before it is stored
};

struct RefusalRecorderOptions {
  absl::Duration window = absl::Seconds(60);
  int max_keys = 100;
};

class RefusalRecorder {
 public:
  // `store` and `clock` must outlive the recorder.
  RefusalRecorder(store::Store* store, Clock* clock, RefusalRecorderOptions options = {});
  ~RefusalRecorder();  // Stop()
  RefusalRecorder(const RefusalRecorder&) = delete;
  RefusalRecorder& operator=(const RefusalRecorder&) = delete;

  // Starts the loop that writes each window's rows when it ends.
  void Start();
  // Stops the loop and writes what was counted (Flush). Idempotent.
  void Stop();

  // Counts `refusal`. When the window it falls in is over, the window's rows
  // are queued for writing first (not waited for).
  void Record(const Refusal& refusal);
  // Queues the rows of the window if it is over (for a periodic loop);
  // returns how long until the current window ends.
  absl::Duration FlushIfDue();
  // Queues the rows of the current window now and starts a new one; waits
  // until they are committed (shutdown, tests). The store's error if the
  // write failed (the rows are then lost and logged as
  // "audit_refusals_failed").
  absl::Status Flush();

  // Refusals counted since start (also those whose rows are written).
  int64_t recorded() const;
  const RefusalRecorderOptions& options() const { return options_; }

 private:
  // peer, principal, tenant, code, reason
  using Key = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  struct Tally {
    Role role = Role::kUnspecified;
    int64_t count = 0;
    absl::Time first;
    int64_t order = 0;  // when the key was first seen (ties of `first`)
    std::string method;
    std::string request_id;
  };

  // Takes the window's tallies and starts a new window at `now`.
  absl::flat_hash_map<Key, Tally> TakeLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues one write of `tallies`' rows; `wait`: until committed.
  absl::Status Write(absl::flat_hash_map<Key, Tally> tallies, bool wait);

  store::Store* const store_;
  Clock* const clock_;
  const RefusalRecorderOptions options_;
  mutable absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Key, Tally> tallies_ ABSL_GUARDED_BY(mu_);
  int64_t recorded_ ABSL_GUARDED_BY(mu_) = 0;
  delivery::BackgroundLoop loop_;
};

// The address part of a gRPC peer string without the port:
// "ipv4:192.0.2.1:5000" -> "192.0.2.1", "ipv6:[2001:db8::1]:5000" ->
// "2001:db8::1", "unix:/run/x.sock" -> "unix"; anything else, sanitised and
// at most 64 characters.
std::string PeerAddress(absl::string_view grpc_peer);

// A request id as it may be stored: printable ASCII only (other bytes become
// '?'), at most 128 characters.
std::string SanitiseRequestId(absl::string_view request_id);

}  // namespace dsar::audit

#endif  // DSAR_LIB_AUDIT_REFUSAL_RECORDER_H_
