#include "lib/core/ids.h"

#include <sodium.h>

#include <cstdint>
#include <cstdlib>

namespace dsar {

std::string NewId(absl::string_view prefix) {
  static const bool initialised = [] {
    if (sodium_init() < 0) std::abort();  // no entropy source: nothing safe to do
    return true;
  }();
  (void)initialised;
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  uint8_t bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  std::string out(prefix);
  out.push_back('_');
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

}  // namespace dsar
