// AdmissionLimits: how many calls and streams may be open at once, in all
// and per principal.
//
// One auditor opening 1,500 WatchAlerts streams made every call of the DPO
// fail: streams held the same global in-flight places as unary calls, with
// no cap per principal. Here unary calls and server streams are counted
// apart (a stream lives for minutes, a call for milliseconds), each under a
// global limit, checked before anything else, and a per-principal limit,
// checked once the caller is known. Beyond a limit the caller gets
// RESOURCE_EXHAUSTED at once (ErrorInfo reasons OVERLOADED,
// TOO_MANY_STREAMS, PRINCIPAL_CALLS_EXHAUSTED, PRINCIPAL_STREAMS_EXHAUSTED).
//
// Thread-safe. A Ticket gives its places back when destroyed.
#ifndef DSAR_LIB_CORE_ADMISSION_LIMITS_H_
#define DSAR_LIB_CORE_ADMISSION_LIMITS_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace dsar {

class AdmissionLimits {
 public:
  enum class Kind { kCall, kStream };
  struct Options {
    int max_calls = 1024;           // unary calls in flight, all principals
    int max_streams = 256;          // open server streams, all principals
    int per_principal_calls = 64;   // unary calls in flight per principal
    int per_principal_streams = 8;  // open server streams per principal
  };

  // Places held by one call or stream.
  class Ticket {
   public:
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    friend class AdmissionLimits;
    Ticket(AdmissionLimits* limits, Kind kind) : limits_(limits), kind_(kind) {}
    AdmissionLimits* limits_;
    Kind kind_;
    std::string principal_;  // empty until AdmitPrincipal
  };

  explicit AdmissionLimits(Options options);
  AdmissionLimits(const AdmissionLimits&) = delete;
  AdmissionLimits& operator=(const AdmissionLimits&) = delete;

  // A global place for a call or stream: RESOURCE_EXHAUSTED (OVERLOADED for
  // calls, TOO_MANY_STREAMS for streams) when none is free.
  absl::StatusOr<std::unique_ptr<Ticket>> AdmitGlobal(Kind kind);
  // Adds `principal`'s own place to `ticket`: RESOURCE_EXHAUSTED
  // (PRINCIPAL_CALLS_EXHAUSTED, PRINCIPAL_STREAMS_EXHAUSTED) when the
  // principal holds all of its own already.
  absl::Status AdmitPrincipal(Ticket& ticket, const std::string& principal);

  int in_flight(Kind kind) const;
  int in_flight(Kind kind, const std::string& principal) const;
  const Options& options() const { return options_; }

 private:
  struct Usage {
    int calls = 0;
    int streams = 0;
  };
  void Release(const Ticket& ticket);

  const Options options_;
  std::atomic<int> calls_{0};
  std::atomic<int> streams_{0};
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Usage> usage_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dsar

#endif  // DSAR_LIB_CORE_ADMISSION_LIMITS_H_
