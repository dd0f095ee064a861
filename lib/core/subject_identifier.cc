#include "lib/core/subject_identifier.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace dsar {
namespace {

bool ValidEmail(absl::string_view s) {
  if (s.size() < 3 || s.size() > 254) return false;
  const size_t at = s.find('@');
  if (at == absl::string_view::npos || at == 0 || at > 64 || s.find('@', at + 1) != s.npos) {
    return false;
  }
  absl::string_view domain = s.substr(at + 1);
  if (domain.empty() || domain.front() == '.' || domain.back() == '.' ||
      domain.find('.') == domain.npos || domain.find("..") != domain.npos) {
    return false;
  }
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == ',' || c == ':' || c == ';' ||
        c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' || c == '"') {
      return false;
    }
  }
  for (char c : domain) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return true;
}

bool ValidPhone(absl::string_view s) {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (char c : s.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool ValidCustomerId(absl::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

const char* IdentifierTypeName(IdentifierType type) {
  switch (type) {
    case IdentifierType::kEmail:
      return "email";
    case IdentifierType::kCustomerId:
      return "customer_id";
    case IdentifierType::kPhone:
      return "phone";
  }
  return "";
}

std::optional<IdentifierType> ParseIdentifierType(absl::string_view name) {
  for (IdentifierType t :
       {IdentifierType::kEmail, IdentifierType::kCustomerId, IdentifierType::kPhone}) {
    if (name == IdentifierTypeName(t)) return t;
  }
  return std::nullopt;
}

bool NormaliseIdentifier(SubjectIdentifier& id, absl::string_view field, FieldErrors& errors) {
  switch (id.type) {
    case IdentifierType::kEmail:
      id.value = absl::AsciiStrToLower(absl::StripAsciiWhitespace(id.value));
      if (!ValidEmail(id.value)) {
        errors.Add(absl::StrCat(field, ".value"), "not a well-formed e-mail address");
        return false;
      }
      return true;
    case IdentifierType::kPhone:
      id.value = std::string(absl::StripAsciiWhitespace(id.value));
      if (!ValidPhone(id.value)) {
        errors.Add(absl::StrCat(field, ".value"),
                   "not an E.164 phone number, e.g. \"+46700000001\"");
        return false;
      }
      return true;
    case IdentifierType::kCustomerId:
      if (!ValidCustomerId(id.value)) {
        errors.Add(absl::StrCat(field, ".value"), "1-128 printable ASCII characters");
        return false;
      }
      return true;
  }
  errors.Add(absl::StrCat(field, ".type"), "must be EMAIL, CUSTOMER_ID or PHONE");
  return false;
}

}  // namespace dsar
