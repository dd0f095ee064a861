// RecordBatcher: groups the items (consent records) that arrive while the
// store's writer is busy into one store write.
//
// Why: RecordConsent is the hottest write. Each Add() queues the item; the
// first item of an empty queue submits one store write, and that write, when
// the writer reaches it, takes every item queued by then and hands them to
// `write` in one transaction (the ledger then inserts all their events with
// one multi-row statement). `done` runs on the store's completion thread
// with the write's status and the batch: each item is answered only after
// its transaction committed. If the write never ran (queue full, store
// closed), `done` gets the items that were waiting and the error, so none
// hangs. Thread-safe.
#ifndef DSAR_LIB_CONSENT_RECORD_BATCHER_H_
#define DSAR_LIB_CONSENT_RECORD_BATCHER_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "lib/store/store.h"

namespace dsar::consent {

template <typename Item>
class RecordBatcher {
 public:
  using Batch = std::vector<std::shared_ptr<Item>>;
  // Writer thread: the batch's items in one transaction.
  using WriteFn = absl::AnyInvocable<absl::Status(store::WriteTxn&, Batch&)>;
  // Completion thread: after the commit (or the failure) of that write.
  using DoneFn = absl::AnyInvocable<void(absl::Status, Batch&)>;

  // `store` is not owned and must outlive the batcher.
  RecordBatcher(store::Store* store, WriteFn write, DoneFn done)
      : store_(store), write_(std::move(write)), done_(std::move(done)) {}

  void Add(std::shared_ptr<Item> item) {
    bool submit;
    {
      absl::MutexLock lock(&mu_);
      pending_.push_back(std::move(item));
      submit = !std::exchange(queued_, true);
    }
    if (submit) Submit();
  }

 private:
  // Queues one store write that takes every item pending when it runs.
  void Submit() {
    auto batch = std::make_shared<Batch>();
    store_->Write(
        [this, batch](store::WriteTxn& txn) -> absl::Status {
          TakePending(*batch);
          return write_(txn, *batch);
        },
        [this, batch](absl::Status status) {
          // The write never ran: nothing took the pending items, so they
          // fail with it rather than wait forever.
          if (batch->empty() && !status.ok()) TakePending(*batch);
          done_(std::move(status), *batch);
        });
  }
  void TakePending(Batch& batch) {
    absl::MutexLock lock(&mu_);
    batch.swap(pending_);
    queued_ = false;
  }

  store::Store* const store_;
  WriteFn write_;  // called on the writer thread only
  DoneFn done_;    // called on the completion thread only

  absl::Mutex mu_;
  Batch pending_ ABSL_GUARDED_BY(mu_);
  bool queued_ ABSL_GUARDED_BY(mu_) = false;  // a write will take pending_
};

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_RECORD_BATCHER_H_
