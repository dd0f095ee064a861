// Internal to lib/privacy_requests: the SQL over the privacy-request tables
// (migration 6). Nothing here decides policy; every function runs inside the
// caller's transaction and scopes by tenant. Not thread-safe (a transaction
// belongs to one call).
#ifndef DSAR_LIB_PRIVACY_REQUESTS_REQUEST_ROWS_H_
#define DSAR_LIB_PRIVACY_REQUESTS_REQUEST_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/privacy_requests/request.h"
#include "lib/store/txn.h"

namespace dsar::privacy_requests::rows {

inline int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromUs(int64_t us) { return absl::FromUnixMicros(us); }

// The request row (header fields; systems, export, disclosures and history
// are loaded separately).
void Insert(store::WriteTxn& txn, const PrivacyRequest& r, absl::string_view sealed_subject,
            absl::string_view wrapped_key);
template <typename Txn>
std::optional<PrivacyRequest> Load(Txn& txn, absl::string_view tenant, absl::string_view id);
// Writes every mutable column of `r`.
void Save(store::WriteTxn& txn, const PrivacyRequest& r);

// Secrets: the sealed identifiers and the wrapped export key; nullopt once
// destroyed (or for an unknown request).
template <typename Txn>
std::optional<std::string> LoadSealedSubject(Txn& txn, absl::string_view tenant,
                                             absl::string_view id);
template <typename Txn>
std::optional<std::string> LoadWrappedKey(Txn& txn, absl::string_view tenant, absl::string_view id);
void DestroySealedSubject(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id);
void DestroyWrappedKey(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id);

// Subject keys (keyed HMACs) for duplicate detection.
void InsertSubjectKeys(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                       RequestType type, const std::vector<std::string>& keys);
// An open request of `type` sharing any key, or nullopt.
std::optional<std::string> FindOpenDuplicate(store::WriteTxn& txn, absl::string_view tenant,
                                             RequestType type,
                                             const std::vector<std::string>& keys);
void CloseSubjectKeys(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id);
// Every key stored for the request: its identifiers' and those connectors
// resolved for the person.
template <typename Txn>
std::vector<std::string> LoadSubjectKeys(Txn& txn, absl::string_view tenant, absl::string_view id);
// Other requests (open or closed) stored under any of `keys`, each once.
template <typename Txn>
std::vector<std::string> OtherRequestsOf(Txn& txn, absl::string_view tenant, absl::string_view id,
                                         const std::vector<std::string>& keys);
// An available export becomes 'erased' (the person was erased); false when
// there was none available.
bool MarkExportErased(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                      absl::Time now);
// Deletes the request's keys and every closed request's rows for `keys`.
int DeleteSubjectKeys(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                      const std::vector<std::string>& keys);

// Connector tasks of a request.
void InsertTask(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                absl::string_view task_id, TaskPhase phase, absl::string_view connector,
                absl::Time now);
template <typename Txn>
std::optional<SystemProgress> LoadTask(Txn& txn, absl::string_view tenant, absl::string_view id,
                                       absl::string_view task_id);
void UpdateTask(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                const SystemProgress& task, absl::Time now);
template <typename Txn>
std::vector<SystemProgress> ListTasks(Txn& txn, absl::string_view tenant, absl::string_view id);
// Marks a task replaced by a new one (its export part was lost); returns how
// many of the connector's tasks of this request were replaced so far.
int SupersedeTask(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                  absl::string_view task_id, absl::string_view connector);

// History.
void InsertEvent(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                 const StateChange& change);
template <typename Txn>
std::vector<StateChange> ListEvents(Txn& txn, absl::string_view tenant, absl::string_view id);

// Duplicate filings linked to a request.
void InsertLink(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                absl::string_view link_id, const Requester& requester,
                absl::string_view callback_url, absl::string_view creator, absl::Time now);
// Distinct non-empty callback URLs of the request and its links.
std::vector<std::string> CallbackUrls(store::WriteTxn& txn, absl::string_view tenant,
                                      absl::string_view id, absl::string_view own_url);

// Export bundles.
void InsertExport(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                  const ExportInfo& info);
template <typename Txn>
std::optional<ExportInfo> LoadExport(Txn& txn, absl::string_view tenant, absl::string_view id);
void MarkExportExpired(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                       absl::Time now);
// (tenant, request id) of available exports expiring at or before `now`.
template <typename Txn>
std::vector<std::pair<std::string, std::string>> ListExpired(Txn& txn, absl::Time now, int limit);

// Disclosures (downloads).
void InsertDisclosure(store::WriteTxn& txn, absl::string_view tenant, absl::string_view id,
                      const Disclosure& d);
template <typename Txn>
std::vector<Disclosure> ListDisclosures(Txn& txn, absl::string_view tenant, absl::string_view id,
                                        int limit);
template <typename Txn>
int CountDisclosures(Txn& txn, absl::string_view tenant, absl::string_view id);

// RETENTION requests of `tenant` still waiting in RECEIVED (held for review).
int64_t CountHeldRetention(store::WriteTxn& txn, absl::string_view tenant);

// Requests whose next step is the worker's.
template <typename Txn>
std::vector<std::pair<std::string, std::string>> ListNeedingWork(Txn& txn, int limit);

struct ListFilter {
  std::string tenant;
  RequestState state = RequestState::kUnspecified;  // unspecified: any
  RequestType type = RequestType::kUnspecified;     // unspecified: any
  std::optional<absl::Time> due_before;             // open ones due before
  std::optional<std::string> subject_key;           // only requests stored under it
  int limit = 100;
  // Cursor: requests created before (created_at, request_id).
  std::optional<std::pair<int64_t, std::string>> before;
};
template <typename Txn>
std::vector<PrivacyRequest> List(Txn& txn, const ListFilter& filter);

// Status callbacks: one privacy_request_callbacks row per URL (what is sent)
// and its delivery row (delivery_rows, channel "callbacks"), queued with the
// state change, due at once.
void InsertCallbacks(store::WriteTxn& txn, absl::string_view tenant, absl::string_view request_id,
                     const std::vector<std::string>& urls, const std::string& body, absl::Time now);
// What a status callback sends, by its seq (the item of its delivery row).
struct CallbackContent {
  std::string tenant, request_id, url, body;
};
// nullopt when there is no such callback.
std::optional<CallbackContent> ReadCallback(store::ReadTxn& txn, int64_t seq);

}  // namespace dsar::privacy_requests::rows

#endif  // DSAR_LIB_PRIVACY_REQUESTS_REQUEST_ROWS_H_
