// Subject identifiers and resource names come from clients. Properties:
// normalising never crashes; an accepted identifier is non-empty, printable
// ASCII, and normalising it again changes nothing and finds no error;
// accepted request and breach names round-trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lib/breach/breach.h"
#include "lib/privacy_requests/identifiers.h"
#include "lib/privacy_requests/request.h"
#include "tests/fuzz/fuzz_check.h"

using dsar::privacy_requests::SubjectIdentifier;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string value(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<SubjectIdentifier> ids = {
      {static_cast<dsar::connector::IdentifierType>(data[0] % 4), value}};
  dsar::FieldErrors errors;
  dsar::privacy_requests::NormaliseIdentifiers(ids, errors);
  if (errors.empty()) {
    const std::string normalised = ids[0].value;
    FUZZ_CHECK(!normalised.empty());
    for (char c : normalised) FUZZ_CHECK(c >= 0x20 && c <= 0x7e);
    dsar::FieldErrors again;
    dsar::privacy_requests::NormaliseIdentifiers(ids, again);
    FUZZ_CHECK(again.empty() && ids[0].value == normalised);
  } else {
    for (const auto& v : errors.violations()) FUZZ_CHECK(v.field.rfind("identifiers[0]", 0) == 0);
  }

  auto id = dsar::privacy_requests::ParseRequestName(value);
  if (id.ok()) FUZZ_CHECK(dsar::privacy_requests::RequestName(*id) == value);
  const std::string breach = dsar::breach::BreachIdFromName(value);
  if (!breach.empty()) FUZZ_CHECK("breaches/" + breach == value);
  return 0;
}
