#include "lib/requests/identifiers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/consent/subject_keyer.h"

namespace dsar::requests {
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

const char* IdentifierTypeName(connector::IdentifierType type) {
  switch (type) {
    case connector::IdentifierType::kEmail: return "email";
    case connector::IdentifierType::kCustomerId: return "customer_id";
    case connector::IdentifierType::kPhone: return "phone";
  }
  return "";
}

void NormaliseIdentifiers(std::vector<SubjectIdentifier>& ids, FieldErrors& errors) {
  if (ids.empty()) {
    errors.Add("identifiers", "at least one identifier (e-mail, customer id or phone)");
    return;
  }
  bool seen[3] = {false, false, false};
  for (size_t i = 0; i < ids.size(); ++i) {
    SubjectIdentifier& id = ids[i];
    const std::string field = absl::StrCat("identifiers[", i, "]");
    const int t = static_cast<int>(id.type);
    if (t < 0 || t > 2) {
      errors.Add(field + ".type", "must be EMAIL, CUSTOMER_ID or PHONE");
      continue;
    }
    if (seen[t]) {
      errors.Add(field + ".type", "at most one identifier of each type");
      continue;
    }
    seen[t] = true;
    switch (id.type) {
      case connector::IdentifierType::kEmail:
        id.value = absl::AsciiStrToLower(absl::StripAsciiWhitespace(id.value));
        if (!ValidEmail(id.value)) {
          errors.Add(field + ".value", "not a well-formed e-mail address");
        }
        break;
      case connector::IdentifierType::kPhone:
        id.value = std::string(absl::StripAsciiWhitespace(id.value));
        if (!ValidPhone(id.value)) {
          errors.Add(field + ".value", "not an E.164 phone number, e.g. \"+46700000001\"");
        }
        break;
      case connector::IdentifierType::kCustomerId:
        if (!ValidCustomerId(id.value)) {
          errors.Add(field + ".value", "1-128 printable ASCII characters");
        }
        break;
    }
  }
}

std::vector<std::string> SubjectKeys(const consent::SubjectKeyer& keyer, absl::string_view tenant,
                                     const std::vector<SubjectIdentifier>& ids) {
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) {
    std::string text = absl::StrCat(IdentifierTypeName(id.type), ":", id.value);
    keys.push_back(keyer.Key(tenant, text));
    std::fill(text.begin(), text.end(), '\0');
  }
  return keys;
}

}  // namespace dsar::requests
