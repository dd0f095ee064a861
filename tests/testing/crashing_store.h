// CrashingStore: fault injection for crash-safety tests. Forwards to a real
// Store; once armed with FailWriteAfter(n), the (n+1)-th write from then runs
// its function and then fails, so the store rolls that write back: what a
// crash between a write's statements and its COMMIT leaves behind. Every
// other write goes through.
#ifndef DSAR_TESTS_TESTING_CRASHING_STORE_H_
#define DSAR_TESTS_TESTING_CRASHING_STORE_H_

#include "absl/status/status.h"
#include "lib/core/status_macros.h"
#include "lib/store/store.h"

namespace dsar::testing {

class CrashingStore final : public store::Store {
 public:
  explicit CrashingStore(store::Store& base) : base_(base) {}

  void FailWriteAfter(int writes) { remaining_ = writes; }

  void Write(store::WriteFn fn, store::WriteDone done) override {
    base_.Write(Wrap(std::move(fn)), std::move(done));
  }
  absl::Status WriteAndWait(store::WriteFn fn) override {
    return base_.WriteAndWait(Wrap(std::move(fn)));
  }
  absl::Status Read(absl::FunctionRef<absl::Status(store::ReadTxn&)> fn) override {
    return base_.Read(fn);
  }
  void Close() override { base_.Close(); }
  int schema_version() const override { return base_.schema_version(); }
  store::WriterStats writer_stats() const override { return base_.writer_stats(); }

 private:
  store::WriteFn Wrap(store::WriteFn fn) {
    if (remaining_ < 0 || remaining_-- > 0) return fn;
    return [fn = std::move(fn)](store::WriteTxn& txn) mutable -> absl::Status {
      RETURN_IF_ERROR(fn(txn));
      return absl::UnavailableError("injected crash before COMMIT");
    };
  }

  store::Store& base_;
  int remaining_ = -1;  // writes left before the failing one; -1: never fail
};

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_CRASHING_STORE_H_
