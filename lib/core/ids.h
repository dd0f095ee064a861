// Random identifiers for resources (receipts, requests, alerts...).
//
// Ids are 128 random bits from libsodium, base32 (lower case, no padding),
// prefixed by a short kind tag, e.g. "rcpt_5f3k...". They carry no meaning and
// no personal data. Thread-safe.
#ifndef DSAR_LIB_CORE_IDS_H_
#define DSAR_LIB_CORE_IDS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dsar {

// Returns "<prefix>_<26 base32 chars>".
std::string NewId(absl::string_view prefix);

// Returns "<prefix>_<26 chars>": `now` in microseconds (11 chars), then 75
// random bits, in an alphabet in ASCII order, so ids made later sort later
// and rows keyed or indexed by them are appended to their B-trees instead of
// dirtying a random page each (fewer pages written per commit). Reveals the
// creation time; use where the row shows it anyway.
std::string NewTimeOrderedId(absl::string_view prefix, absl::Time now);
// `n` such ids for one `now`, with one call to the random source (a batch of
// rows written together).
std::vector<std::string> NewTimeOrderedIds(absl::string_view prefix, absl::Time now, size_t n);

}  // namespace dsar

#endif  // DSAR_LIB_CORE_IDS_H_
