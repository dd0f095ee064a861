// FakeConnector: a scripted ConnectorClient for dispatcher tests.
//
// Calls answer from a script of statuses (then succeed), can be held at a
// gate until the test releases them (to observe concurrency and leases
// without sleeping), and are counted.
#ifndef DSAR_TESTS_UNIT_CONNECTOR_FAKE_CONNECTOR_H_
#define DSAR_TESTS_UNIT_CONNECTOR_FAKE_CONNECTOR_H_

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "lib/connector/connector_client.h"
#include "lib/delivery/retry_policy.h"

namespace dsar::connector::testing {

class FakeConnector final : public ConnectorClient {
 public:
  // Calls (after the script) fail with `s` from now on; OK to succeed again.
  void FailAlways(absl::Status s) {
    absl::MutexLock lock(&mu_);
    always_ = std::move(s);
  }
  // The next calls answer these statuses, in order.
  void Script(std::vector<absl::Status> statuses) {
    absl::MutexLock lock(&mu_);
    for (auto& s : statuses) script_.push_back(std::move(s));
  }
  // The next `n` successful erasures/consent changes answer IN_PROGRESS.
  void InProgressFor(int n) {
    absl::MutexLock lock(&mu_);
    in_progress_ = n;
  }
  // Consent changes answer that the system holds no record of the subject.
  void KnowNobody() {
    absl::MutexLock lock(&mu_);
    know_nobody_ = true;
  }
  // Calls wait at the gate until Open().
  void Close() {
    absl::MutexLock lock(&mu_);
    gate_open_ = false;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    gate_open_ = true;
  }
  // Blocks until `n` calls are waiting at the closed gate.
  void AwaitWaiting(int n) {
    struct Arg {
      FakeConnector* self;
      int n;
    } arg{this, n};
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](Arg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS { return a->self->waiting_ >= a->n; }, &arg));
  }

  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int max_concurrent() const {
    absl::MutexLock lock(&mu_);
    return max_concurrent_;
  }
  std::vector<std::string> task_ids() const {
    absl::MutexLock lock(&mu_);
    return task_ids_;
  }
  std::vector<SubjectIdentifier> last_subject() const {
    absl::MutexLock lock(&mu_);
    return last_subject_;
  }
  ConsentCall last_consent() const {
    absl::MutexLock lock(&mu_);
    return last_consent_;
  }

  // Health probes (Describe) hang until CancelAll(), like a backend that
  // accepted the connection and never answers.
  void HangProbes() {
    absl::MutexLock lock(&mu_);
    hang_probes_ = true;
  }
  // Blocks until a probe hangs.
  void AwaitHangingProbe() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* n) { return *n > 0; }, &hanging_probes_));
  }
  int cancel_alls() const {
    absl::MutexLock lock(&mu_);
    return cancel_alls_;
  }
  void CancelAll() override {
    absl::MutexLock lock(&mu_);
    ++cancel_alls_;
  }

  absl::StatusOr<Description> Describe(absl::Duration) override {
    absl::MutexLock lock(&mu_);
    if (hang_probes_) {
      const int cancels_before = cancel_alls_;
      ++hanging_probes_;
      auto cancelled = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return cancel_alls_ > cancels_before;
      };
      mu_.Await(absl::Condition(&cancelled));
      --hanging_probes_;
      return absl::CancelledError("probe cancelled");
    }
    if (!always_.ok()) return always_;
    Description d;
    d.system = "fake";
    return d;
  }
  absl::Status Export(const SubjectCall& call, absl::Duration,
                      absl::FunctionRef<absl::Status(ExportedRecord)> on_record,
                      std::vector<SubjectIdentifier>*) override {
    absl::Status s = Enter(call);
    if (s.ok()) {
      for (int i = 0; i < 3 && s.ok(); ++i) {
        s = on_record({"rec/" + std::to_string(i), "fake", "contact", "{}", absl::InfinitePast()});
      }
    }
    Leave();
    return s;
  }
  absl::StatusOr<EraseOutcome> Erase(const SubjectCall& call, absl::Duration) override {
    absl::Status s = Enter(call);
    bool in_progress = TakeInProgress();
    Leave();
    if (!s.ok()) return s;
    EraseOutcome out;
    out.in_progress = in_progress;
    if (!in_progress) {
      out.deleted = 3;
      out.anonymised = 2;
      out.kept.push_back({"people/9", "identity", "legal_hold", "case 1"});
    }
    return out;
  }
  absl::StatusOr<ConsentOutcome> ApplyConsentChange(const ConsentCall& call,
                                                    absl::Duration) override {
    absl::Status s = Enter(call.target);
    {
      absl::MutexLock lock(&mu_);
      last_consent_ = call;
    }
    bool in_progress = TakeInProgress();
    Leave();
    if (!s.ok()) return s;
    ConsentOutcome out;
    out.in_progress = in_progress;
    absl::MutexLock lock(&mu_);
    out.no_match = know_nobody_;
    out.affected = know_nobody_ ? 0 : 1;
    return out;
  }
  absl::StatusOr<EndedRelationshipsPage> ListEndedRelationships(absl::string_view, absl::Time, int,
                                                                absl::string_view,
                                                                absl::Duration) override {
    return EndedRelationshipsPage();
  }

 private:
  absl::Status Enter(const SubjectCall& call) {
    absl::MutexLock lock(&mu_);
    ++calls_;
    task_ids_.push_back(call.task_id);
    last_subject_ = call.subject;
    ++concurrent_;
    max_concurrent_ = std::max(max_concurrent_, concurrent_);
    ++waiting_;
    mu_.Await(absl::Condition(&gate_open_));
    --waiting_;
    if (!script_.empty()) {
      absl::Status s = script_.front();
      script_.pop_front();
      return s;
    }
    return always_;
  }
  void Leave() {
    absl::MutexLock lock(&mu_);
    --concurrent_;
  }
  bool TakeInProgress() {
    absl::MutexLock lock(&mu_);
    if (in_progress_ <= 0) return false;
    --in_progress_;
    return true;
  }

  mutable absl::Mutex mu_;
  std::deque<absl::Status> script_ ABSL_GUARDED_BY(mu_);
  absl::Status always_ ABSL_GUARDED_BY(mu_);
  int in_progress_ ABSL_GUARDED_BY(mu_) = 0;
  bool know_nobody_ ABSL_GUARDED_BY(mu_) = false;
  bool hang_probes_ ABSL_GUARDED_BY(mu_) = false;
  int hanging_probes_ ABSL_GUARDED_BY(mu_) = 0;
  int cancel_alls_ ABSL_GUARDED_BY(mu_) = 0;
  bool gate_open_ ABSL_GUARDED_BY(mu_) = true;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int concurrent_ ABSL_GUARDED_BY(mu_) = 0;
  int max_concurrent_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> task_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<SubjectIdentifier> last_subject_ ABSL_GUARDED_BY(mu_);
  ConsentCall last_consent_ ABSL_GUARDED_BY(mu_);
};

// Always draws the same number, so backoff delays are exact.
class FixedRandom final : public delivery::RandomSource {
 public:
  explicit FixedRandom(double u) : u_(u) {}
  double Uniform() override { return u_; }

 private:
  double u_;
};

}  // namespace dsar::connector::testing

#endif  // DSAR_TESTS_UNIT_CONNECTOR_FAKE_CONNECTOR_H_
