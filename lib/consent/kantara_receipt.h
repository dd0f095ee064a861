// Renders a consent receipt in the Kantara Initiative Consent Receipt v1.1
// JSON shape, with dsar's additions (lawfulBasis, noticeVersion,
// withdrawalTimestamp, state). The subject appears only as its pseudonym.
#ifndef DSAR_LIB_CONSENT_KANTARA_RECEIPT_H_
#define DSAR_LIB_CONSENT_KANTARA_RECEIPT_H_

#include <string>

#include "lib/consent/consent_ledger.h"
#include "lib/consent/purpose_catalog.h"

namespace dsar::consent {

// `tenant` and `purpose` may be null (tenant or purpose no longer configured):
// the fields they supply are then left empty.
std::string KantaraReceiptJson(const ConsentReceipt& receipt, const TenantInfo* tenant,
                               const Purpose* purpose);

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_KANTARA_RECEIPT_H_
