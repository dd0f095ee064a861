#include "tools/bench/load_generator.h"

#include <sys/resource.h>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tools/bench/latency_histogram.h"

namespace dsar::bench {
namespace {

absl::Duration ProcessCpu() {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) return absl::ZeroDuration();
  return absl::DurationFromTimeval(usage.ru_utime) + absl::DurationFromTimeval(usage.ru_stime);
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

enum Phase : int { kWarmup, kMeasure, kStop };
// Who continues a closed-loop slot: see Run::IssueClosed.
enum Handoff : int { kInCall, kReturned, kCompleted };
constexpr int kStatusCodes = 17;

// State shared by the driver and every in-flight call; callbacks hold it by
// shared_ptr so a late completion never touches freed memory.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(const LoadOptions& options, std::vector<CallFn> clients)
      : options_(options), clients_(std::move(clients)) {}

  // Closed loop: starts every slot.
  void StartClosedLoop() {
    {
      absl::MutexLock lock(&mu_);
      outstanding_ = static_cast<int64_t>(clients_.size()) * options_.outstanding_per_connection;
    }
    for (size_t conn = 0; conn < clients_.size(); ++conn) {
      for (int s = 0; s < options_.outstanding_per_connection; ++s) IssueClosed(conn);
    }
  }

  // Paced: runs on its own thread until the phase is kStop.
  void PaceLoop() {
    const double interval = 1e9 / options_.target_qps;
    const int64_t start = NowNanos();
    int64_t issued = 0;
    while (phase_.load(std::memory_order_acquire) != kStop) {
      int64_t due = static_cast<int64_t>((NowNanos() - start) / interval) + 1;
      while (issued < due && phase_.load(std::memory_order_acquire) != kStop) {
        {
          absl::MutexLock lock(&mu_);
          if (!mu_.AwaitWithTimeout(absl::Condition(
                                        +[](Run* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) {
                                          return r->outstanding_ < r->cap_ ||
                                                 r->phase_.load(std::memory_order_acquire) == kStop;
                                        },
                                        this),
                                    absl::Milliseconds(100))) {
            continue;
          }
          if (phase_.load(std::memory_order_acquire) == kStop) break;
          ++outstanding_;
        }
        int64_t origin = start + static_cast<int64_t>(issued * interval);
        IssuePaced(issued % clients_.size(), origin);
        ++issued;
      }
      int64_t next = start + static_cast<int64_t>(issued * interval);
      int64_t wait = next - NowNanos();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    }
  }

  // Closed loop: continues slots whose call completed inline, until every
  // slot has stopped.
  void HelperLoop() {
    for (;;) {
      size_t conn;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Run* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) {
              return !r->reissue_.empty() || r->outstanding_ == 0;
            },
            this));
        if (reissue_.empty()) return;
        conn = reissue_.front();
        reissue_.pop_front();
      }
      IssueClosed(conn);
    }
  }

  void set_cap(int64_t cap) {
    absl::MutexLock lock(&mu_);
    cap_ = cap;
  }

  void BeginMeasuring() {
    cpu0_ = ProcessCpu();
    t0_ = NowNanos();
    phase_.store(kMeasure, std::memory_order_release);
  }

  // Waits until max_requests were measured or the duration passed.
  void WaitForWindow() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&count_reached_), options_.duration);
  }

  void Stop() {
    phase_.store(kStop, std::memory_order_release);
    t1_ = NowNanos();
    cpu1_ = ProcessCpu();
    absl::MutexLock lock(&mu_);  // wakes a pacer waiting for a free slot
  }

  bool WaitDrained(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](Run* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) { return r->outstanding_ == 0; },
            this),
        timeout);
  }

  // After WaitDrained: hands the CallFns (and with them the stubs and
  // channels) to the driver thread. The last completion callback may still
  // hold this Run; if it also held the last grpc::Channel, destroying it on a
  // gRPC callback thread could join that thread from itself (gRPC 1.51's
  // callback-alternative CQ) and crash.
  std::vector<CallFn> TakeClients() { return std::move(clients_); }

  LoadResult Result() const {
    LoadResult r;
    r.ok = ok_.load();
    for (int c = 0; c < kStatusCodes; ++c) {
      int64_t n = errors_[c].load();
      if (n == 0) continue;
      r.errors += n;
      r.errors_by_code[static_cast<grpc::StatusCode>(c)] = n;
    }
    r.elapsed = absl::Nanoseconds(t1_ - t0_);
    r.process_cpu = cpu1_ - cpu0_;
    double seconds = absl::ToDoubleSeconds(r.elapsed);
    r.qps = seconds > 0 ? static_cast<double>(r.ok) / seconds : 0;
    r.p50 = latency_.Percentile(0.50);
    r.p90 = latency_.Percentile(0.90);
    r.p99 = latency_.Percentile(0.99);
    r.p999 = latency_.Percentile(0.999);
    r.max = latency_.Max();
    r.mean = latency_.Mean();
    return r;
  }

 private:
  // Starts the next call of a closed-loop slot. A call that completes on
  // another thread continues its slot from its callback; one that completes
  // inline (inside the CallFn, e.g. a client-side check failing) is handed to
  // the helper thread, so a slot never recurses and never runs on the driver.
  void IssueClosed(size_t conn) {
    if (phase_.load(std::memory_order_acquire) == kStop) {
      absl::MutexLock lock(&mu_);
      --outstanding_;
      return;
    }
    auto handoff = std::make_shared<std::atomic<int>>(kInCall);
    int64_t seq = seq_.fetch_add(1, std::memory_order_relaxed);
    int64_t origin = NowNanos();
    std::shared_ptr<Run> self = shared_from_this();
    clients_[conn](seq, [self, conn, origin, handoff](const grpc::Status& status) {
      self->Completed(origin, status);
      if (handoff->exchange(kCompleted) == kReturned) self->IssueClosed(conn);
    });
    if (handoff->exchange(kReturned) == kCompleted) {
      absl::MutexLock lock(&mu_);
      reissue_.push_back(conn);
    }
  }

  void IssuePaced(size_t conn, int64_t origin) {
    int64_t seq = seq_.fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<Run> self = shared_from_this();
    clients_[conn](seq, [self, origin](const grpc::Status& status) {
      self->Completed(origin, status);
      absl::MutexLock lock(&self->mu_);
      --self->outstanding_;
    });
  }

  void Completed(int64_t origin, const grpc::Status& status) {
    int64_t end = NowNanos();
    if (phase_.load(std::memory_order_acquire) != kMeasure) return;
    if (status.ok()) {
      ok_.fetch_add(1, std::memory_order_relaxed);
      latency_.Record(end - origin);
    } else {
      int code = static_cast<int>(status.error_code());
      if (code < 0 || code >= kStatusCodes) code = grpc::StatusCode::UNKNOWN;
      errors_[code].fetch_add(1, std::memory_order_relaxed);
    }
    int64_t measured = measured_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (options_.max_requests > 0 && measured == options_.max_requests) {
      absl::MutexLock lock(&mu_);
      count_reached_ = true;
    }
  }

  const LoadOptions options_;
  // Read concurrently by in-flight calls; taken by the driver once drained.
  std::vector<CallFn> clients_;
  std::atomic<int> phase_{kWarmup};
  std::atomic<int64_t> seq_{0};
  std::atomic<int64_t> ok_{0};
  std::atomic<int64_t> measured_{0};
  std::array<std::atomic<int64_t>, kStatusCodes> errors_{};
  LatencyHistogram latency_;
  int64_t t0_ = 0;  // written by the driver thread only
  int64_t t1_ = 0;
  absl::Duration cpu0_, cpu1_;  // written by the driver thread only

  absl::Mutex mu_;
  int64_t outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t cap_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<size_t> reissue_ ABSL_GUARDED_BY(mu_);  // slots whose call completed inline
  bool count_reached_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

ChannelFactory InsecureChannelFactory(std::string target) {
  return [target = std::move(target)](const grpc::ChannelArguments& args) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  };
}

const char* StatusCodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[kStatusCodes] = {"OK",
                                                       "CANCELLED",
                                                       "UNKNOWN",
                                                       "INVALID_ARGUMENT",
                                                       "DEADLINE_EXCEEDED",
                                                       "NOT_FOUND",
                                                       "ALREADY_EXISTS",
                                                       "PERMISSION_DENIED",
                                                       "RESOURCE_EXHAUSTED",
                                                       "FAILED_PRECONDITION",
                                                       "ABORTED",
                                                       "OUT_OF_RANGE",
                                                       "UNIMPLEMENTED",
                                                       "INTERNAL",
                                                       "UNAVAILABLE",
                                                       "DATA_LOSS",
                                                       "UNAUTHENTICATED"};
  int c = static_cast<int>(code);
  return c >= 0 && c < kStatusCodes ? kNames[c] : "UNKNOWN";
}

std::string LoadResult::ErrorSummary() const {
  std::string out;
  for (const auto& [code, n] : errors_by_code) {
    absl::StrAppend(&out, out.empty() ? "" : " ", StatusCodeName(code), "=", n);
  }
  return out;
}

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options, const ChannelFactory& channels,
                                   const ClientFactory& clients) {
  if (options.connections < 1 || options.outstanding_per_connection < 1 ||
      options.duration <= absl::ZeroDuration() || options.warmup < absl::ZeroDuration() ||
      options.target_qps < 0 || options.max_requests < 0) {
    return absl::InvalidArgumentError("load options out of range");
  }
  std::vector<std::shared_ptr<grpc::Channel>> conns;
  std::vector<CallFn> fns;
  for (int i = 0; i < options.connections; ++i) {
    grpc::ChannelArguments args;
    // Each channel its own subchannel pool and a distinct argument set, so
    // gRPC opens one TCP connection per channel instead of sharing one.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("dsar.bench.connection_index", i);
    std::shared_ptr<grpc::Channel> channel = channels(args);
    if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + options.connect_timeout))) {
      return absl::UnavailableError(absl::StrCat("connection ", i, " did not become ready"));
    }
    fns.push_back(clients(channel));
    conns.push_back(std::move(channel));
  }

  auto run = std::make_shared<Run>(options, std::move(fns));
  run->set_cap(static_cast<int64_t>(options.connections) * options.outstanding_per_connection);
  std::thread pacer, helper;
  if (options.target_qps > 0) {
    pacer = std::thread([run] { run->PaceLoop(); });
  } else {
    run->StartClosedLoop();
    helper = std::thread([run] { run->HelperLoop(); });
  }
  absl::SleepFor(options.warmup);
  run->BeginMeasuring();
  run->WaitForWindow();
  run->Stop();
  if (pacer.joinable()) pacer.join();
  if (!run->WaitDrained(options.drain_timeout)) {
    // The helper ends when the last call does; leave it to that.
    if (helper.joinable()) helper.detach();
    return absl::DeadlineExceededError("calls still outstanding after the drain timeout");
  }
  if (helper.joinable()) helper.join();
  std::vector<CallFn> drained = run->TakeClients();
  drained.clear();  // destroys stubs and channels here, on the driver thread
  conns.clear();
  return run->Result();
}

absl::StatusOr<PacedResult> RunLoadAtFractionOfPeak(const LoadOptions& options, double fraction,
                                                    const ChannelFactory& channels,
                                                    const ClientFactory& clients) {
  if (fraction <= 0) return absl::InvalidArgumentError("fraction must be positive");
  PacedResult result;
  LoadOptions closed = options;
  closed.target_qps = 0;
  absl::StatusOr<LoadResult> peak = RunLoad(closed, channels, clients);
  if (!peak.ok()) return peak.status();
  if (peak->qps <= 0) return absl::UnavailableError("no call succeeded at peak");
  result.peak = *peak;
  result.target_qps = fraction * peak->qps;
  LoadOptions paced = options;
  paced.target_qps = result.target_qps;
  absl::StatusOr<LoadResult> at_rate = RunLoad(paced, channels, clients);
  if (!at_rate.ok()) return at_rate.status();
  result.paced = *at_rate;
  return result;
}

}  // namespace dsar::bench
