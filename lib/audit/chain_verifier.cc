#include "lib/audit/chain_verifier.h"

#include <utility>

namespace dsar::audit {

ChainVerifier::ChainVerifier(store::Store* store)
    : store_(store), loop_([this] { return Pass(); }, absl::InfiniteDuration()) {
  loop_.Start();
}

ChainVerifier::~ChainVerifier() { Stop(); }

void ChainVerifier::Verify(bool full, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      waiting_.push_back(Waiter{full, std::move(done)});
      done = nullptr;
    }
  }
  if (done) {
    done(absl::UnavailableError("the audit log verifier is stopping; retry"));
    return;
  }
  loop_.Wake();
}

void ChainVerifier::Stop() {
  std::vector<Waiter> left;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  loop_.Stop();
  {
    absl::MutexLock lock(&mu_);
    left = std::move(waiting_);
  }
  for (Waiter& w : left) w.done(absl::UnavailableError("the audit log verifier stopped; retry"));
}

int64_t ChainVerifier::verified_seq() const {
  absl::MutexLock lock(&mu_);
  return verified_seq_;
}

absl::Duration ChainVerifier::Pass() {
  std::vector<Waiter> batch;
  int64_t after_seq;
  std::string after_hash;
  {
    absl::MutexLock lock(&mu_);
    batch = std::move(waiting_);
    waiting_.clear();
    after_seq = verified_seq_;
    after_hash = verified_hash_;
  }
  if (batch.empty()) return absl::InfiniteDuration();
  bool full = after_seq == 0;
  for (const Waiter& w : batch) full |= w.full;
  absl::StatusOr<VerifyResult> result =
      full ? audit::Verify(*store_) : VerifyAfter(*store_, after_seq, after_hash);
  if (result.ok() && result->ok) {
    absl::MutexLock lock(&mu_);
    // The rows a pass saw are verified; the head only moves forward.
    const int64_t head_seq = result->from_seq - 1 + result->rows_checked;
    if (head_seq >= verified_seq_) {
      verified_seq_ = head_seq;
      verified_hash_ = result->head_hash;
    }
  }
  for (Waiter& w : batch) w.done(result);
  return absl::InfiniteDuration();
}

}  // namespace dsar::audit
