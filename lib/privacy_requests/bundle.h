// Export bundle: one JSON document with everything the systems hold about the
// person, grouped by system and category, and for each system the Art. 15(1)
// information (purposes, categories, recipients, storage country, retention,
// source) from the connector registry and the configured notices.
//
//   {"format": "dsar-export/1", "generated_time": ..., "request": {...},
//    "controller": {...}, "systems": [
//      {"system": "booking", "display_name": ..., "status": "complete",
//       "information": {...}, "record_count": N,
//       "categories": [{"category": "booking", "record_count": n,
//                       "retention": ..., "records": [{...}, ...]}, ...]},
//      ...], "dsard": {"consent_events": [...], "requests": [...]},
//    "record_count": total}
//
// The document is streamed from the encrypted parts into an encrypted bundle
// file (the request's key) while its SHA-256 is computed, a chunk at a time:
// memory does not grow with the export. The file is written beside its final
// name, fsynced and renamed, so a crash leaves either no bundle or a whole
// one. Not thread-safe (one call builds one bundle).
#ifndef DSAR_LIB_PRIVACY_REQUESTS_BUNDLE_H_
#define DSAR_LIB_PRIVACY_REQUESTS_BUNDLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/privacy_requests/export_crypto.h"
#include "lib/privacy_requests/request.h"
#include "lib/privacy_requests/request_env.h"

namespace dsar::privacy_requests {

struct BundleResult {
  int64_t size_bytes = 0;
  std::string sha256_hex;
  int64_t records = 0;
  int systems = 0;
};

// Builds the bundle of `r` from the parts of its export tasks (`tasks`,
// phase export, each done or skipped). DATA_LOSS when a part is missing,
// torn or altered (the task it belongs to is stored in `*lost_task`, when
// given); INTERNAL for I/O errors.
// `own_records`: dsard's own records of the person, a JSON object
// (OwnRecordsJson), emitted as "dsard".
absl::StatusOr<BundleResult> AssembleBundle(const RequestEnv& env, const PrivacyRequest& r,
                                            const std::vector<SystemProgress>& tasks,
                                            const SecretKey& key, absl::Time now,
                                            std::string* lost_task = nullptr,
                                            const std::string& own_records = "");

}  // namespace dsar::privacy_requests

#endif  // DSAR_LIB_PRIVACY_REQUESTS_BUNDLE_H_
