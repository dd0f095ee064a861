#include "lib/consent/kantara_receipt.h"

#include <nlohmann/json.hpp>

#include "absl/time/time.h"

namespace dsar::consent {

std::string KantaraReceiptJson(const ConsentReceipt& r, const TenantInfo* tenant,
                               const Purpose* purpose) {
  using nlohmann::json;
  json controller = {
      {"piiController", tenant ? tenant->controller_name : ""},
      {"contact", tenant ? tenant->contact_email : ""},
      {"email", tenant ? tenant->contact_email : ""},
      {"onBehalf", false},
  };
  json purpose_entry = {
      {"purpose", purpose && !purpose->description.empty() ? purpose->description : r.purpose},
      {"purposeCategory", json::array({r.purpose})},
      {"consentType",
       r.lawful_basis == LawfulBasis::kConsent || r.lawful_basis == LawfulBasis::kExplicitConsent
           ? "EXPLICIT"
           : "IMPLICIT"},
      {"piiCategory", json::array()},
      {"primaryPurpose", true},
      {"termination", "Withdrawal by the data subject at any time, with immediate effect"},
      {"thirdPartyDisclosure", false},
  };
  json receipt = {
      {"version", "KI-CR-v1.1.0"},
      {"jurisdiction", tenant ? tenant->jurisdiction : ""},
      {"consentTimestamp", absl::ToUnixSeconds(r.given_at)},
      {"collectionMethod", r.channel},
      {"consentReceiptID", r.receipt_id},
      {"language", r.language},
      {"piiPrincipalId", r.subject_pseudonym},
      {"piiControllers", json::array({controller})},
      {"policyUrl", tenant ? tenant->policy_url : ""},
      {"services",
       json::array({{{"service", r.purpose}, {"purposes", json::array({purpose_entry})}}})},
      {"sensitive", r.lawful_basis == LawfulBasis::kExplicitConsent},
      {"spiCat", json::array()},
      // dsar additions.
      {"lawfulBasis", LawfulBasisName(r.lawful_basis)},
      {"noticeVersion", r.notice_version},
      {"state", r.withdrawn_at ? "withdrawn" : "granted"},
  };
  if (r.withdrawn_at) receipt["withdrawalTimestamp"] = absl::ToUnixSeconds(*r.withdrawn_at);
  return receipt.dump(2);
}

}  // namespace dsar::consent
