// Conversions between dsar.v1.SubjectIdentifier and the domain's typed
// identifier (lib/core/subject_identifier.h), for the adapters.
#ifndef DSAR_SERVICES_SUBJECT_PROTO_H_
#define DSAR_SERVICES_SUBJECT_PROTO_H_

#include "dsar/v1/subject.pb.h"
#include "lib/core/subject_identifier.h"

namespace dsar {

inline v1::SubjectIdentifierType ToProto(IdentifierType t) {
  switch (t) {
    case IdentifierType::kEmail:
      return v1::SUBJECT_IDENTIFIER_TYPE_EMAIL;
    case IdentifierType::kCustomerId:
      return v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID;
    case IdentifierType::kPhone:
      return v1::SUBJECT_IDENTIFIER_TYPE_PHONE;
  }
  return v1::SUBJECT_IDENTIFIER_TYPE_UNSPECIFIED;
}

// An unset or unknown type becomes a value NormaliseIdentifier rejects.
inline SubjectIdentifier FromProto(const v1::SubjectIdentifier& id) {
  SubjectIdentifier out;
  switch (id.type()) {
    case v1::SUBJECT_IDENTIFIER_TYPE_EMAIL:
      out.type = IdentifierType::kEmail;
      break;
    case v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID:
      out.type = IdentifierType::kCustomerId;
      break;
    case v1::SUBJECT_IDENTIFIER_TYPE_PHONE:
      out.type = IdentifierType::kPhone;
      break;
    default:
      out.type = static_cast<IdentifierType>(-1);
      break;
  }
  out.value = id.value();
  return out;
}

}  // namespace dsar

#endif  // DSAR_SERVICES_SUBJECT_PROTO_H_
