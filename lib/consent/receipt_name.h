// The resource name of a consent receipt, "consents/{receipt_id}": the name
// its audit events, propagation tasks and withdrawal deadline carry.
#ifndef DSAR_LIB_CONSENT_RECEIPT_NAME_H_
#define DSAR_LIB_CONSENT_RECEIPT_NAME_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace dsar::consent {

// The collection of consent receipts.
inline constexpr absl::string_view kConsentsCollection = "consents/";

inline std::string ReceiptName(absl::string_view receipt_id) {
  return absl::StrCat(kConsentsCollection, receipt_id);
}

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_RECEIPT_NAME_H_
