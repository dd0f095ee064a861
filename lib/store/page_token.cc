#include "lib/store/page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/store/idempotency.h"

namespace dsar::store {

std::string PageFilterTag(std::initializer_list<absl::string_view> filter) {
  return absl::BytesToHexString(FingerprintOf(filter)).substr(0, 16);
}

std::string EncodePageToken(std::initializer_list<absl::string_view> position,
                            absl::string_view tag) {
  return absl::WebSafeBase64Escape(absl::StrCat(absl::StrJoin(position, ":"), ":", tag));
}

std::optional<std::vector<std::string>> DecodePageToken(absl::string_view token,
                                                        absl::string_view tag, size_t fields) {
  std::string raw;
  if (token.empty() || !absl::WebSafeBase64Unescape(token, &raw)) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(raw, ':');
  if (parts.size() != fields + 1 || parts.back() != tag) return std::nullopt;
  parts.pop_back();
  for (const std::string& p : parts) {
    if (p.empty()) return std::nullopt;
  }
  return parts;
}

std::optional<int64_t> DecodeSeqPageToken(absl::string_view token, absl::string_view tag) {
  auto parts = DecodePageToken(token, tag, 1);
  int64_t seq = 0;
  if (!parts.has_value() || !absl::SimpleAtoi((*parts)[0], &seq) || seq <= 0) return std::nullopt;
  return seq;
}

}  // namespace dsar::store
