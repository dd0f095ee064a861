// Internal to lib/privacy_requests: the steps shared by the API (PrivacyRequests),
// the connector hooks and the worker, each run inside the caller's write
// transaction so a state change, its clocks, its connector tasks, its
// history row and its status callbacks commit together.
#ifndef DSAR_LIB_PRIVACY_REQUESTS_TRANSITIONS_H_
#define DSAR_LIB_PRIVACY_REQUESTS_TRANSITIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/core/call_context.h"
#include "lib/privacy_requests/request.h"
#include "lib/privacy_requests/request_env.h"
#include "lib/store/txn.h"

namespace dsar::privacy_requests::internal {

// Principal recorded for steps dsard takes by itself.
inline constexpr char kSystemActor[] = "dsard";

// A CallContext for audit events of automatic steps.
CallContext SystemContext(absl::string_view tenant, absl::string_view step);

// Moves `r` to `to`: checks the state machine (FAILED_PRECONDITION), records
// the history row, closes the subject keys when the request closes, enqueues
// status callbacks and saves the row.
absl::Status Transition(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r, RequestState to,
                        absl::string_view actor, std::string detail, absl::Time now);

// The two clocks: request.processor (72 hours) and request.gdpr (one month),
// started at r.received_at; due times are copied into `r`.
absl::Status ScheduleClocks(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r,
                            absl::Time now);
absl::Status PauseClocks(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r, absl::Time now);
absl::Status ResumeClocks(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r, absl::Time now);
// Completes (the obligation was met) or cancels both clocks.
absl::Status CloseClocks(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r, bool complete,
                         absl::Time now);

// VERIFIED -> IN_PROGRESS: enqueues the export or erase task of every
// connector that takes it, with the identifiers sealed in the request.
absl::Status StartWork(store::WriteTxn& txn, RequestEnv& env, PrivacyRequest& r,
                       absl::string_view actor, absl::Time now);

// Enqueues one task of `kind` per target connector for `r` (or only for
// `only_connector` when not empty); returns how many.
absl::StatusOr<int> EnqueuePhase(store::WriteTxn& txn, RequestEnv& env, const PrivacyRequest& r,
                                 connector::TaskKind kind, TaskPhase phase,
                                 const std::vector<SubjectIdentifier>& subject, absl::Time now,
                                 absl::string_view only_connector = "");

// The identifiers sealed in the request's row. FAILED_PRECONDITION when they
// were already destroyed; DATA_LOSS when they do not open.
absl::StatusOr<std::vector<SubjectIdentifier>> OpenSubject(store::WriteTxn& txn, RequestEnv& env,
                                                           const PrivacyRequest& r);
std::string SealSubject(const RequestEnv& env, absl::string_view request_id,
                        const std::vector<SubjectIdentifier>& subject);

// The JSON body of a status callback (OpenDSR's fields plus dsar's state).
std::string CallbackBody(const PrivacyRequest& r, absl::Time now);

}  // namespace dsar::privacy_requests::internal

#endif  // DSAR_LIB_PRIVACY_REQUESTS_TRANSITIONS_H_
