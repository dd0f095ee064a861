#include "lib/core/ids.h"

#include <sodium.h>

#include <algorithm>
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

namespace {

void InitSodium() {
  static const bool initialised = [] {
    if (sodium_init() < 0) std::abort();  // no entropy source: nothing safe to do
    return true;
  }();
  (void)initialised;
}

// "<prefix>_" + 11 characters of `micros` + 15 of the 10 bytes at `random`.
void AppendTimeOrderedId(std::string& out, absl::string_view prefix, uint64_t micros,
                         const uint8_t* random) {
  static constexpr char kAlphabet[] = "234567abcdefghijklmnopqrstuvwxyz";  // ASCII order
  out.reserve(prefix.size() + 27);
  out.append(prefix.data(), prefix.size());
  out.push_back('_');
  for (int shift = 50; shift >= 0; shift -= 5) out.push_back(kAlphabet[(micros >> shift) & 31]);
  uint64_t hi = 0;
  for (int i = 0; i < 8; ++i) hi = (hi << 8) | random[i];
  for (int i = 0; i < 12; ++i) out.push_back(kAlphabet[(hi >> (59 - 5 * i)) & 31]);
  const uint32_t lo = (uint32_t{random[8]} << 8) | random[9];
  for (int i = 0; i < 3; ++i) out.push_back(kAlphabet[(lo >> (11 - 5 * i)) & 31]);
}

uint64_t MicrosOf(absl::Time now) {
  return static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMicros(now)));
}

}  // namespace

std::string NewTimeOrderedId(absl::string_view prefix, absl::Time now) {
  InitSodium();
  uint8_t random[10];  // 80 bits, 75 used
  randombytes_buf(random, sizeof random);
  std::string out;
  AppendTimeOrderedId(out, prefix, MicrosOf(now), random);
  return out;
}

std::vector<std::string> NewTimeOrderedIds(absl::string_view prefix, absl::Time now, size_t n) {
  InitSodium();
  std::vector<uint8_t> random(10 * n);
  if (n > 0) randombytes_buf(random.data(), random.size());
  std::vector<std::string> out(n);
  for (size_t i = 0; i < n; ++i)
    AppendTimeOrderedId(out[i], prefix, MicrosOf(now), &random[10 * i]);
  return out;
}

}  // namespace dsar
