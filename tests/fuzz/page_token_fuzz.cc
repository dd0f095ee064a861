// Page tokens come from clients of every List method. Properties: decoding
// never crashes; a decoded position has the asked number of non-empty fields
// without ':'; re-encoding it decodes to the same fields.
#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/store/page_token.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t fields = 1 + data[0] % 3;
  const std::string token(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string tag = dsar::store::PageFilterTag({"fuzz-tenant", std::to_string(fields)});
  auto position = dsar::store::DecodePageToken(token, tag, fields);
  if (position.has_value()) {
    FUZZ_CHECK(position->size() == fields);
    for (const std::string& f : *position) {
      FUZZ_CHECK(!f.empty() && f.find(':') == std::string::npos);
    }
  }
  // Any input as a position: what is encoded decodes to itself.
  const std::string field = token.empty() || token.find(':') != std::string::npos ? "x" : token;
  auto again = dsar::store::DecodePageToken(dsar::store::EncodePageToken({field}, tag), tag, 1);
  FUZZ_CHECK(again.has_value() && again->size() == 1 && (*again)[0] == field);
  (void)dsar::store::DecodeSeqPageToken(token, tag);
  return 0;
}
