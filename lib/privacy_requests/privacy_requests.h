// PrivacyRequests: files, reads and moves data-subject requests (access,
// portability, erasure) through their state machine.
//
// Every mutation is one write transaction: the request row, its history, its
// two clocks in the deadline engine (request.processor 72 hours and
// request.gdpr one month), its connector tasks in the outbox, its status
// callbacks and an audit event commit together, and the caller is answered
// only after that commit is durable. Mutations are idempotent by (tenant,
// request_id). Identifier values are sealed in the request row until the
// request closes (or, for an erasure, until it is verified) and stored
// otherwise only as keyed HMACs for duplicate detection: a second open
// request for the same person and type is linked to the first.
//
// The rest of the work happens elsewhere in the module: TaskHooks advance a
// request as its connector tasks finish, ExportSinks write exported records
// to encrypted parts, and the RequestWorker assembles bundles, sends
// verification exports, completes erasures and expires bundles.
//
// Thread-safe. Mutations and downloads answer through callbacks (on the
// store's completion thread, or inline on a validation error); Get and List
// are synchronous reads.
#ifndef DSAR_LIB_PRIVACY_REQUESTS_PRIVACY_REQUESTS_H_
#define DSAR_LIB_PRIVACY_REQUESTS_PRIVACY_REQUESTS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/core/call_context.h"
#include "lib/privacy_requests/export_crypto.h"
#include "lib/privacy_requests/request.h"
#include "lib/privacy_requests/request_env.h"

namespace dsar::privacy_requests {

struct CreateInput {
  RequestType type = RequestType::kUnspecified;
  RequestSource source = RequestSource::kDataSubject;
  std::vector<SubjectIdentifier> identifiers;
  Requester requester;
  std::string callback_url;
  std::optional<absl::Time> received_at;     // default now
  std::optional<Verification> verification;  // set: already verified, starts at once
  // Only these connectors (sorted names); empty: every connector. Not exposed
  // in the API: the retention job sets it.
  std::vector<std::string> only_systems;
};

struct Created {
  PrivacyRequest request;
  bool duplicate = false;  // an open request for the person and type existed
};

struct ListInput {
  std::optional<SubjectIdentifier> subject;  // only this person's requests
  RequestState state = RequestState::kUnspecified;
  RequestType type = RequestType::kUnspecified;
  std::optional<absl::Time> due_before;
  int page_size = 0;  // 0: 100
  std::string page_token;
};

struct RequestPage {
  std::vector<PrivacyRequest> requests;
  std::string next_page_token;
};

struct ExtendInput {
  std::string request_id;
  std::string reason;
  std::optional<absl::Time> subject_informed_at;
  std::optional<absl::Time> gdpr_due;       // default: the latest GDPR allows
  std::optional<absl::Time> processor_due;  // unset: the processor clock stays
};

struct DownloadInput {
  std::string request_id;
  DisclosureRecipient recipient = DisclosureRecipient::kUnspecified;
  std::string recipient_name;
};

// A download in progress: the bundle's plaintext, chunk by chunk, checked
// against the digest recorded when the bundle was built. Belongs to one
// thread at a time.
class ExportDownload {
 public:
  ExportDownload(std::unique_ptr<EncryptedReader> reader, ExportInfo info,
                 std::string disclosure_id)
      : reader_(std::move(reader)),
        info_(std::move(info)),
        disclosure_id_(std::move(disclosure_id)) {}
  // Next chunk into `*chunk` (at most 64 KiB); false at the end. DATA_LOSS
  // when the file was altered or its digest differs from the recorded one.
  absl::StatusOr<bool> Next(std::string* chunk);
  const ExportInfo& info() const { return info_; }
  const std::string& disclosure_id() const { return disclosure_id_; }
  int64_t bytes_sent() const { return bytes_; }

 private:
  std::unique_ptr<EncryptedReader> reader_;
  ExportInfo info_;
  std::string disclosure_id_;
  Sha256 sha_;
  int64_t bytes_ = 0;
};

class PrivacyRequests {
 public:
  using CreateDone = absl::AnyInvocable<void(absl::StatusOr<Created>)>;
  using RequestDone = absl::AnyInvocable<void(absl::StatusOr<PrivacyRequest>)>;
  using DownloadDone = absl::AnyInvocable<void(absl::StatusOr<std::unique_ptr<ExportDownload>>)>;

  // `env` is not owned and must outlive this object.
  explicit PrivacyRequests(RequestEnv* env) : env_(env) {}

  // INVALID_ARGUMENT naming each bad field (request_id, type, identifiers,
  // requester, status_callback_url, receive_time, verification).
  void Create(const CallContext& ctx, CreateInput input, CreateDone done);
  // With systems, export, disclosures and history. NOT_FOUND.
  absl::StatusOr<PrivacyRequest> Get(const CallContext& ctx, absl::string_view request_id);
  // Summaries, newest first. INVALID_ARGUMENT (page_size, page_token).
  absl::StatusOr<RequestPage> List(const CallContext& ctx, const ListInput& input);
  // RECEIVED -> VERIFIED -> IN_PROGRESS. NOT_FOUND; FAILED_PRECONDITION.
  void Verify(const CallContext& ctx, std::string request_id, Verification verification,
              RequestDone done);
  // INVALID_ARGUMENT (reason, subject_notify_time, gdpr_due_time,
  // processor_due_time); NOT_FOUND; FAILED_PRECONDITION (closed, paused, or
  // the deadline already passed).
  void Extend(const CallContext& ctx, ExtendInput input, RequestDone done);
  // RECEIVED | VERIFIED -> REJECTED. The clocks are completed (answered).
  void Reject(const CallContext& ctx, std::string request_id, RejectionReason reason,
              std::string detail, RequestDone done);
  // -> CANCELLED; FAILED_PRECONDITION for an erasure whose tasks were sent
  // (unless it FAILED). The clocks are cancelled.
  void Cancel(const CallContext& ctx, std::string request_id, std::string reason, RequestDone done);
  // Records the disclosure (and audits it) before answering with the stream.
  // NOT_FOUND when the request or its bundle is gone (an expired bundle is
  // destroyed here); FAILED_PRECONDITION before COMPLETED or for an erasure.
  void Download(const CallContext& ctx, DownloadInput input, DownloadDone done);

 private:
  RequestEnv* const env_;
};

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_PRIVACY_REQUESTS_H_
