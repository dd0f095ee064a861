// Consent language tags (BCP 47) come from clients. Properties: checking never
// crashes; a well-formed tag holds only ASCII letters, digits and '-', never
// starts or ends with '-' or holds "--"; BCP 47 is case-insensitive, so its
// upper- and lower-case forms are well-formed too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "lib/consent/language_tag.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string tag(reinterpret_cast<const char*>(data), size);
  if (!dsar::consent::IsWellFormedLanguageTag(tag)) return 0;
  FUZZ_CHECK(!tag.empty() && tag.front() != '-' && tag.back() != '-');
  FUZZ_CHECK(tag.find("--") == std::string::npos);
  for (char c : tag) FUZZ_CHECK(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-');
  FUZZ_CHECK(dsar::consent::IsWellFormedLanguageTag(absl::AsciiStrToLower(tag)));
  FUZZ_CHECK(dsar::consent::IsWellFormedLanguageTag(absl::AsciiStrToUpper(tag)));
  return 0;
}
