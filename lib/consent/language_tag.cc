#include "lib/consent/language_tag.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace dsar::consent {
namespace {

bool AllOf(absl::string_view s, bool (*pred)(unsigned char)) {
  for (char c : s) {
    if (!pred(static_cast<unsigned char>(c))) return false;
  }
  return true;
}
bool Alpha(absl::string_view s) { return AllOf(s, absl::ascii_isalpha); }
bool Digit(absl::string_view s) { return AllOf(s, absl::ascii_isdigit); }
bool Alnum(absl::string_view s) { return AllOf(s, absl::ascii_isalnum); }

}  // namespace

bool IsWellFormedLanguageTag(absl::string_view tag) {
  if (tag.empty() || tag.size() > 64) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(tag, '-');
  size_t i = 0;
  auto at = [&](size_t k) { return k < parts.size() ? parts[k] : absl::string_view(); };
  // Private-use-only tag: x-...
  if (absl::AsciiStrToLower(at(0)) == "x") {
    if (parts.size() < 2) return false;
    for (size_t k = 1; k < parts.size(); ++k) {
      if (parts[k].empty() || parts[k].size() > 8 || !Alnum(parts[k])) return false;
    }
    return true;
  }
  absl::string_view lang = at(i);
  if (!Alpha(lang) || lang.size() < 2 || lang.size() > 8 || lang.size() == 4) return false;
  ++i;
  if (lang.size() <= 3) {
    for (int ext = 0; ext < 3 && at(i).size() == 3 && Alpha(at(i)); ++ext) ++i;
  }
  if (at(i).size() == 4 && Alpha(at(i))) ++i;                                           // script
  if ((at(i).size() == 2 && Alpha(at(i))) || (at(i).size() == 3 && Digit(at(i)))) ++i;  // region
  while (i < parts.size() &&
         ((parts[i].size() >= 5 && parts[i].size() <= 8 && Alnum(parts[i])) ||
          (parts[i].size() == 4 && absl::ascii_isdigit(parts[i][0]) && Alnum(parts[i])))) {
    ++i;  // variants
  }
  while (i < parts.size() && parts[i].size() == 1 && Alnum(parts[i]) &&
         absl::AsciiStrToLower(parts[i]) != "x") {
    ++i;  // extension singleton, then 2-8 alphanumerics (at least one)
    size_t start = i;
    while (i < parts.size() && parts[i].size() >= 2 && parts[i].size() <= 8 && Alnum(parts[i])) ++i;
    if (i == start) return false;
  }
  if (i < parts.size() && absl::AsciiStrToLower(parts[i]) == "x") {
    ++i;
    size_t start = i;
    while (i < parts.size() && !parts[i].empty() && parts[i].size() <= 8 && Alnum(parts[i])) ++i;
    if (i == start) return false;
  }
  return i == parts.size();
}

}  // namespace dsar::consent
