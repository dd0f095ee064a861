// Random identifiers for resources (receipts, requests, alerts...).
//
// Ids are 128 random bits from libsodium, base32 (lower case, no padding),
// prefixed by a short kind tag, e.g. "rcpt_5f3k...". They carry no meaning and
// no personal data. Thread-safe.
#ifndef DSAR_LIB_CORE_IDS_H_
#define DSAR_LIB_CORE_IDS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace dsar {

// Returns "<prefix>_<26 base32 chars>".
std::string NewId(absl::string_view prefix);

}  // namespace dsar

#endif  // DSAR_LIB_CORE_IDS_H_
