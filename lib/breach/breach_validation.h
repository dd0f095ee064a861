// Input rules of the breach register: bounds on every field, known enum
// values, the invariants every version keeps, and what a breach needs before
// it may close. Pure functions; BreachRegister calls them before and inside
// its transactions so that bad input changes nothing.
#ifndef DSAR_LIB_BREACH_BREACH_VALIDATION_H_
#define DSAR_LIB_BREACH_BREACH_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/breach/breach.h"
#include "lib/core/errors.h"

namespace dsar::breach {

inline constexpr size_t kMaxTitleLength = 200;
inline constexpr size_t kMaxTextLength = 8000;
inline constexpr size_t kMaxContactPointLength = 500;
inline constexpr size_t kMaxListEntries = 50;
inline constexpr size_t kMaxEntryLength = 128;
inline constexpr size_t kMaxChannelLength = 64;
inline constexpr size_t kMaxReferenceLength = 256;
inline constexpr size_t kMaxDelayReasonLength = 2000;
inline constexpr size_t kMaxChangeNoteLength = 1000;
inline constexpr size_t kMaxCloseNoteLength = 2000;
inline constexpr size_t kMaxTenantIdLength = 64;
inline constexpr int kMaxAffectedTenants = 64;
inline constexpr int64_t kMaxCount = 10'000'000'000'000;  // 1e13
inline constexpr int kMaxVersions = 500;
inline constexpr int kMaxNotifications = 1000;
// Clocks of callers and dsard may differ a little.
inline constexpr absl::Duration kClockSkew = absl::Minutes(5);

// Checks the named fields (DetailFieldNames) of `d`: lengths, list sizes,
// one-line text where a label is expected, known enum values, counts in
// [0, kMaxCount], times not after `now`. Violations name "<prefix><field>".
void CheckDetailFields(const BreachDetails& d, const std::vector<std::string>& fields,
                       absl::string_view prefix, absl::Time now, FieldErrors& errors);

// What every version keeps: title and nature present; occurrence not after
// awareness; a NO_RISK assessment with its rationale and an Art. 34(3)(a)/(b)
// exemption with its reason (each closes a clock without a notification).
void CheckDetailInvariants(const BreachDetails& d, absl::Time aware_at, absl::string_view prefix,
                           FieldErrors& errors);

// Checks one free-text field: at most `max` bytes of UTF-8.
void CheckText(absl::string_view field, absl::string_view value, size_t max, FieldErrors& errors);
// Checks a one-line label: at most `max` bytes of UTF-8 without control characters.
void CheckLabel(absl::string_view field, absl::string_view value, size_t max, FieldErrors& errors);

// Why `breach` (current details, every affected tenant) may not close yet:
// missing required fields (type "MISSING_FIELD"), an Art. 34 decision the risk
// does not allow (type "SUBJECT_NOTIFICATION"), required notifications
// missing per tenant (type "MISSING_NOTIFICATION"). Empty when it may close.
std::vector<PreconditionViolation> CloseViolations(const Breach& breach);

}  // namespace dsar::breach

#endif  // DSAR_LIB_BREACH_BREACH_VALIDATION_H_
