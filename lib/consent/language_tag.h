// Validation of BCP 47 language tags (RFC 5646), the form consent is recorded
// in ("sv", "sv-SE", "en-GB", "zh-Hant-TW", "es-419").
#ifndef DSAR_LIB_CONSENT_LANGUAGE_TAG_H_
#define DSAR_LIB_CONSENT_LANGUAGE_TAG_H_

#include "absl/strings/string_view.h"

namespace dsar::consent {

// True for a well-formed tag: language (2-3 letters, optionally with up to
// three 3-letter extlangs, or 5-8 letters), optional script (4 letters),
// region (2 letters or 3 digits), variants (5-8 alphanumerics or digit + 3),
// extensions (singleton + 2-8 alphanumerics) and private use (x-...).
// Grandfathered tags are not accepted.
bool IsWellFormedLanguageTag(absl::string_view tag);

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_LANGUAGE_TAG_H_
