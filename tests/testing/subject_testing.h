// Typed subjects for tests: dsar.v1.SubjectIdentifier of each type, for
// synthetic people only (e.g. "person-0007@example.invalid", "cust-0004").
#ifndef DSAR_TESTS_TESTING_SUBJECT_TESTING_H_
#define DSAR_TESTS_TESTING_SUBJECT_TESTING_H_

#include <string>

#include "dsar/v1/subject.pb.h"

namespace dsar::testing {

inline v1::SubjectIdentifier Subject(v1::SubjectIdentifierType type, std::string value) {
  v1::SubjectIdentifier id;
  id.set_type(type);
  id.set_value(std::move(value));
  return id;
}
inline v1::SubjectIdentifier CustomerSubject(std::string value) {
  return Subject(v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID, std::move(value));
}
inline v1::SubjectIdentifier EmailSubject(std::string value) {
  return Subject(v1::SUBJECT_IDENTIFIER_TYPE_EMAIL, std::move(value));
}
inline v1::SubjectIdentifier PhoneSubject(std::string value) {
  return Subject(v1::SUBJECT_IDENTIFIER_TYPE_PHONE, std::move(value));
}

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_SUBJECT_TESTING_H_
