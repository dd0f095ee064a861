#include "lib/delivery/background_loop.h"

#include <utility>

namespace dsar::delivery {

BackgroundLoop::BackgroundLoop(Pass pass, absl::Duration first_wait)
    : pass_(std::move(pass)), first_wait_(first_wait) {}

BackgroundLoop::~BackgroundLoop() { Stop(); }

void BackgroundLoop::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void BackgroundLoop::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void BackgroundLoop::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool BackgroundLoop::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

int64_t BackgroundLoop::passes() const {
  absl::MutexLock lock(&mu_);
  return passes_;
}

bool BackgroundLoop::WaitForPasses(int64_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return passes_ >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

void BackgroundLoop::Run() {
  absl::Duration wait = first_wait_;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || woken_; };
      if (wait == absl::InfiniteDuration()) {
        mu_.Await(absl::Condition(&ready));
      } else if (wait > absl::ZeroDuration()) {
        mu_.AwaitWithTimeout(absl::Condition(&ready), wait);
      }
      if (stopping_) return;
      woken_ = false;
    }
    wait = pass_();
    absl::MutexLock lock(&mu_);
    ++passes_;
  }
}

}  // namespace dsar::delivery
