#include "lib/core/admission_limits.h"

#include "absl/strings/str_cat.h"
#include "lib/core/errors.h"

namespace dsar {

AdmissionLimits::Ticket::~Ticket() { limits_->Release(*this); }

AdmissionLimits::AdmissionLimits(Options options) : options_(options) {}

absl::StatusOr<std::unique_ptr<AdmissionLimits::Ticket>> AdmissionLimits::AdmitGlobal(Kind kind) {
  if (kind == Kind::kCall) {
    if (calls_.fetch_add(1) >= options_.max_calls) {
      calls_.fetch_sub(1);
      return WithErrorInfo(absl::ResourceExhaustedError("server overloaded; retry later"),
                           "OVERLOADED");
    }
  } else if (streams_.fetch_add(1) >= options_.max_streams) {
    streams_.fetch_sub(1);
    return WithErrorInfo(
        absl::ResourceExhaustedError(absl::StrCat("the server holds its most open streams (",
                                                  options_.max_streams, "); retry later")),
        "TOO_MANY_STREAMS");
  }
  return std::unique_ptr<Ticket>(new Ticket(this, kind));
}

absl::Status AdmissionLimits::AdmitPrincipal(Ticket& ticket, const std::string& principal) {
  const bool stream = ticket.kind_ == Kind::kStream;
  const int limit = stream ? options_.per_principal_streams : options_.per_principal_calls;
  absl::MutexLock lock(&mu_);
  Usage& u = usage_[principal];
  int& used = stream ? u.streams : u.calls;
  if (used >= limit) {
    if (u.calls == 0 && u.streams == 0) usage_.erase(principal);
    return WithErrorInfo(
        absl::ResourceExhaustedError(absl::StrCat("principal ", principal, " already has ", used,
                                                  stream ? " open streams" : " calls in flight",
                                                  " (its limit); retry when one has ended")),
        stream ? "PRINCIPAL_STREAMS_EXHAUSTED" : "PRINCIPAL_CALLS_EXHAUSTED",
        {{"principal", principal}});
  }
  ++used;
  ticket.principal_ = principal;
  return absl::OkStatus();
}

void AdmissionLimits::Release(const Ticket& ticket) {
  (ticket.kind_ == Kind::kCall ? calls_ : streams_).fetch_sub(1);
  if (ticket.principal_.empty()) return;
  absl::MutexLock lock(&mu_);
  auto it = usage_.find(ticket.principal_);
  if (it == usage_.end()) return;
  (ticket.kind_ == Kind::kCall ? it->second.calls : it->second.streams) -= 1;
  if (it->second.calls == 0 && it->second.streams == 0) usage_.erase(it);
}

int AdmissionLimits::in_flight(Kind kind) const {
  return (kind == Kind::kCall ? calls_ : streams_).load();
}

int AdmissionLimits::in_flight(Kind kind, const std::string& principal) const {
  absl::MutexLock lock(&mu_);
  auto it = usage_.find(principal);
  if (it == usage_.end()) return 0;
  return kind == Kind::kCall ? it->second.calls : it->second.streams;
}

}  // namespace dsar
