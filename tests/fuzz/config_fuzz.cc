// dsard's configuration file. Properties: parsing any text never crashes and
// either succeeds or says why (a non-empty message naming the file); a
// configuration that validates validates again after a text round trip.
#include <google/protobuf/text_format.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/core/config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = dsar::ParseDsardConfig(text, "fuzz.textproto");
  if (!config.ok()) {
    FUZZ_CHECK(!config.status().message().empty());
    return 0;
  }
  std::string printed;
  FUZZ_CHECK(google::protobuf::TextFormat::PrintToString(*config, &printed));
  FUZZ_CHECK(dsar::ParseDsardConfig(printed, "fuzz-again.textproto").ok());
  return 0;
}
