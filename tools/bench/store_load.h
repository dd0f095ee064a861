// Store load: N submitter threads each calling Store::WriteAndWait in a loop,
// the way N concurrent gRPC handlers would feed the writer. Measures durable
// (acknowledged = fsync'd) writes per second and the group sizes the writer
// formed while it was measured.
//
// RunStoreLoad blocks; `make_write` is called concurrently from the
// submitter threads.
#ifndef DSAR_TOOLS_BENCH_STORE_LOAD_H_
#define DSAR_TOOLS_BENCH_STORE_LOAD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/store/store.h"

namespace dsar::bench {

struct StoreLoadOptions {
  int submitters = 64;
  absl::Duration warmup = absl::Milliseconds(500);
  absl::Duration duration = absl::Seconds(3);  // measured window, upper bound
  int64_t max_writes = 0;                      // measured writes; 0: duration only
};

struct StoreLoadResult {
  int64_t ok = 0;
  int64_t errors = 0;
  std::map<absl::StatusCode, int64_t> errors_by_code;
  absl::Duration elapsed;
  double writes_per_second = 0;  // ok / elapsed
  absl::Duration p50, p99, max;  // WriteAndWait latency of successful writes
  // Writer counters over the measured window.
  int64_t groups = 0;
  double mean_group = 0;
  int64_t largest_group = 0;  // since the store opened

  std::string ErrorSummary() const;
};

// `make_write(submitter, seq)` returns the write to submit; seq counts that
// submitter's writes from 0.
StoreLoadResult RunStoreLoad(
    store::Store& store,
    const std::function<store::WriteFn(int submitter, int64_t seq)>& make_write,
    const StoreLoadOptions& options);

}  // namespace dsar::bench

#endif  // DSAR_TOOLS_BENCH_STORE_LOAD_H_
