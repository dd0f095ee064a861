// Privacy requests: the values the requests module works with, and the state
// machine every change goes through.
//
// A request moves RECEIVED -> VERIFIED -> IN_PROGRESS -> COMPLETED, or to
// REJECTED, CANCELLED or FAILED. FAILED is not final: when the failed
// connector task is retried and finishes, the request resumes IN_PROGRESS.
// Inside IN_PROGRESS a request goes through stages (exports collected, bundle
// assembled; or erasure sent, verification export sent) that the API does not
// show as states. Enum values match dsar.v1 so adapters can cast. Plain
// values; no gRPC types, no personal data except SubjectIdentifier::value.
#ifndef DSAR_LIB_PRIVACY_REQUESTS_REQUEST_H_
#define DSAR_LIB_PRIVACY_REQUESTS_REQUEST_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/connector/task.h"

namespace dsar::privacy_requests {

// Values match dsar.v1.PrivacyRequestType.
enum class RequestType { kUnspecified = 0, kAccess = 1, kPortability = 2, kErasure = 3 };
// Values match dsar.v1.PrivacyRequestState.
enum class RequestState {
  kUnspecified = 0,
  kReceived = 1,
  kVerified = 2,
  kInProgress = 3,
  kCompleted = 4,
  kRejected = 5,
  kCancelled = 6,
  kFailed = 7,
};
// Values match dsar.v1.PrivacyRequestSource.
enum class RequestSource { kUnspecified = 0, kDataSubject = 1, kRetention = 2 };
// Values match dsar.v1.RequesterRelation.
enum class RequesterRelation {
  kUnspecified = 0,
  kDataSubject = 1,
  kAuthorisedAgent = 2,
  kParentOrGuardian = 3,
  kController = 4,
};
// Values match dsar.v1.VerificationMethod.
enum class VerificationMethod {
  kUnspecified = 0,
  kAuthenticatedSession = 1,
  kDocumentCheck = 2,
  kKnownContactChannel = 3,
  kOther = 4,
};
// Values match dsar.v1.RejectionReason.
enum class RejectionReason {
  kUnspecified = 0,
  kManifestlyUnfounded = 1,
  kExcessive = 2,
  kIdentityNotVerified = 3,
  kOther = 4,
};
// Values match dsar.v1.TaskPhase.
enum class TaskPhase { kUnspecified = 0, kExport = 1, kErase = 2, kVerify = 3 };
// Values match dsar.v1.DisclosureRecipient.
enum class DisclosureRecipient {
  kUnspecified = 0,
  kDataSubject = 1,
  kAuthorisedAgent = 2,
  kOtherController = 3,
};
// These values are stored as integers (privacy_requests, _events, _tasks,
// _disclosures) and match the dsar.v1 enums: they never change.
static_assert(static_cast<int>(RequestType::kAccess) == 1);
static_assert(static_cast<int>(RequestType::kPortability) == 2);
static_assert(static_cast<int>(RequestType::kErasure) == 3);
static_assert(static_cast<int>(RequestState::kReceived) == 1);
static_assert(static_cast<int>(RequestState::kVerified) == 2);
static_assert(static_cast<int>(RequestState::kInProgress) == 3);
static_assert(static_cast<int>(RequestState::kCompleted) == 4);
static_assert(static_cast<int>(RequestState::kRejected) == 5);
static_assert(static_cast<int>(RequestState::kCancelled) == 6);
static_assert(static_cast<int>(RequestState::kFailed) == 7);
static_assert(static_cast<int>(RequestSource::kDataSubject) == 1);
static_assert(static_cast<int>(RequestSource::kRetention) == 2);
static_assert(static_cast<int>(RequesterRelation::kDataSubject) == 1);
static_assert(static_cast<int>(RequesterRelation::kAuthorisedAgent) == 2);
static_assert(static_cast<int>(RequesterRelation::kParentOrGuardian) == 3);
static_assert(static_cast<int>(RequesterRelation::kController) == 4);
static_assert(static_cast<int>(VerificationMethod::kAuthenticatedSession) == 1);
static_assert(static_cast<int>(VerificationMethod::kDocumentCheck) == 2);
static_assert(static_cast<int>(VerificationMethod::kKnownContactChannel) == 3);
static_assert(static_cast<int>(VerificationMethod::kOther) == 4);
static_assert(static_cast<int>(RejectionReason::kManifestlyUnfounded) == 1);
static_assert(static_cast<int>(RejectionReason::kExcessive) == 2);
static_assert(static_cast<int>(RejectionReason::kIdentityNotVerified) == 3);
static_assert(static_cast<int>(RejectionReason::kOther) == 4);
static_assert(static_cast<int>(TaskPhase::kExport) == 1);
static_assert(static_cast<int>(TaskPhase::kErase) == 2);
static_assert(static_cast<int>(TaskPhase::kVerify) == 3);
static_assert(static_cast<int>(DisclosureRecipient::kDataSubject) == 1);
static_assert(static_cast<int>(DisclosureRecipient::kAuthorisedAgent) == 2);
static_assert(static_cast<int>(DisclosureRecipient::kOtherController) == 3);

// Work inside IN_PROGRESS (and FAILED, which keeps the stage it failed in).
enum class Stage {
  kNone,        // not started, or closed
  kCollecting,  // export tasks running
  kAssembling,  // every export task finished: the worker builds the bundle
  kErasing,     // erase tasks running
  kErased,      // every erase task done: the worker sends verification exports
  kVerifying,   // verification export tasks running
  kVerified,    // nothing left: the worker completes the erasure
};

const char* RequestTypeName(RequestType type);     // "ACCESS", ...
const char* RequestStateName(RequestState state);  // "RECEIVED", ...
const char* StageName(Stage stage);                // "collecting", ...
Stage ParseStage(absl::string_view name);
const char* TaskPhaseName(TaskPhase phase);  // "export", "erase", "verify"
TaskPhase ParseTaskPhase(absl::string_view name);

// Open states: the obligation is not yet met (duplicates link to these).
bool IsOpen(RequestState state);
// Whether the state machine allows from -> to.
bool TransitionAllowed(RequestState from, RequestState to);
// OK, or FAILED_PRECONDITION with a PreconditionFailure (type "STATE") naming
// the request, its state and what `action` needs.
absl::Status CheckTransition(absl::string_view request_name, RequestState from, RequestState to,
                             absl::string_view action);

// The collection of privacy requests: "privacyRequests/{request_id}".
inline constexpr absl::string_view kPrivacyRequestsCollection = "privacyRequests/";
// "privacyRequests/<id>".
std::string RequestName(absl::string_view id);
// The id in a resource name; INVALID_ARGUMENT (field "name") otherwise.
absl::StatusOr<std::string> ParseRequestName(absl::string_view name);

// Personal data: sealed at rest, never logged or returned.
using SubjectIdentifier = ::dsar::SubjectIdentifier;

struct Requester {
  RequesterRelation relation = RequesterRelation::kUnspecified;
  std::string channel;
  std::string reference;  // the controller's case number; no personal data
};

struct Verification {
  VerificationMethod method = VerificationMethod::kUnspecified;
  std::string note;
  std::string verifier;
  absl::Time verified_at = absl::InfinitePast();
};

struct KeptRecord {
  std::string record_id;
  std::string category;
  std::string reason;
  std::string detail;
};

// One connector task of a request.
struct SystemProgress {
  std::string connector;
  TaskPhase phase = TaskPhase::kUnspecified;
  std::string task_id;
  connector::TaskState state = connector::TaskState::kPending;
  int attempts = 0;
  int64_t records = 0;
  int64_t deleted = 0;
  int64_t anonymised = 0;
  std::vector<KeptRecord> kept;
  std::string skip_reason;
  std::string last_error;
  // The request's identifier types the system matched (types only).
  std::vector<IdentifierType> matched_types;
};

struct ExportInfo {
  bool available = false;  // false: expired (or erased) and destroyed
  bool erased = false;     // destroyed by the erasure of the person
  int64_t size_bytes = 0;
  std::string sha256_hex;
  int64_t records = 0;
  absl::Time created_at;
  absl::Time expires_at;
  int downloads = 0;
};

struct Disclosure {
  std::string disclosure_id;
  std::string what;
  DisclosureRecipient recipient = DisclosureRecipient::kUnspecified;
  std::string recipient_name;
  std::string principal;
  absl::Time disclosed_at;
};

struct StateChange {
  RequestState from = RequestState::kUnspecified;
  RequestState to = RequestState::kUnspecified;
  std::string actor;
  std::string detail;
  absl::Time at;
};

struct PrivacyRequest {
  std::string tenant;
  std::string id;  // "pr_...": the privacy request's id (its name is privacyRequests/<id>)
  RequestType type = RequestType::kUnspecified;
  RequestState state = RequestState::kUnspecified;
  Stage stage = Stage::kNone;
  RequestSource source = RequestSource::kDataSubject;
  Requester requester;
  std::vector<connector::IdentifierType> identifier_types;
  std::string callback_url;
  std::string creator;
  absl::Time received_at;
  absl::Time created_at;
  absl::Time updated_at;
  std::optional<absl::Time> closed_at;
  absl::Time processor_due_at;
  absl::Time gdpr_due_at;
  bool clock_paused = false;
  std::optional<Verification> verification;
  int extension_count = 0;
  std::string extension_reason;
  std::optional<absl::Time> subject_informed_at;
  RejectionReason rejection_reason = RejectionReason::kUnspecified;
  std::string rejection_detail;
  std::string cancel_reason;
  std::string failure_reason;
  int duplicate_count = 0;
  // The connectors the request goes to; empty: every connector of the tenant.
  // A retention erasure names the systems that reported the relationship
  // ended before the cut-off (each system's data is stale by its own end date).
  std::vector<std::string> only_systems;
  // Internal: the worker has a step to take (stage assembling, erased or
  // verified), and time the clocks spent paused (for the extension limit).
  bool needs_work = false;
  absl::Duration paused_total = absl::ZeroDuration();
  // Filled by Get (not by List).
  std::vector<SystemProgress> systems;
  std::optional<ExportInfo> export_info;
  std::vector<Disclosure> disclosures;
  std::vector<StateChange> history;

  std::string name() const { return RequestName(id); }
  // The earlier of the two clocks: what controllers see as expected completion.
  absl::Time due_at() const { return std::min(processor_due_at, gdpr_due_at); }
};

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_REQUEST_H_
