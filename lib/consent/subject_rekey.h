// Keyed start-up migration of stored subject keys to the typed scheme
// (SubjectKeyer::SubjectKey, issue 18).
//
// Before typed subjects, consent events were keyed by the caller's untyped
// subject id (scheme 1: HMAC under the tenant key of the raw id). The typed
// key is a pure function of that key, so every stored event is re-keyed as a
// CUSTOMER_ID from its stored key alone: RekeyScheme1. That needs the tenant
// key, which SQL migrations do not have, so it runs at start-up, before the
// consent state index loads: in one write transaction, guarded by the row
// ('consent', 2) in subject_key_schemes (migration 17), so it runs once and a
// crash before its commit leaves the old keys and no row (it runs again).
// Anonymised events (random keys) are re-keyed too; they stay random.
#ifndef DSAR_LIB_CONSENT_SUBJECT_REKEY_H_
#define DSAR_LIB_CONSENT_SUBJECT_REKEY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/store/store.h"
#include "lib/store/txn.h"

namespace dsar::consent {

class SubjectKeyer;

// The current scheme of subject keys.
inline constexpr int kSubjectKeyScheme = 2;

// How many consent events were re-keyed (0 when already done, or none).
absl::StatusOr<int64_t> RekeyConsentSubjects(store::Store& store, const SubjectKeyer& keyer);

// True when `part`'s keys are at kSubjectKeyScheme; MarkSubjectKeyScheme
// records that they are, in the transaction that re-keyed them.
bool SubjectKeySchemeCurrent(store::WriteTxn& txn, absl::string_view part);
void MarkSubjectKeyScheme(store::WriteTxn& txn, absl::string_view part, int64_t rows);

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_SUBJECT_REKEY_H_
