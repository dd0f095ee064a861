// A typed identifier of a data subject (e-mail, customer number, phone), and
// its per-type normalisation: the one definition shared by consent, privacy
// requests and connector tasks.
//
// E-mail addresses are compared case-insensitively (trimmed, lower-cased);
// phone numbers must be E.164 ("+" and 7-15 digits, trimmed); customer ids are
// opaque (1-128 printable ASCII characters, kept exactly). Values are personal
// data: never log them. Stateless; thread-safe.
#ifndef DSAR_LIB_CORE_SUBJECT_IDENTIFIER_H_
#define DSAR_LIB_CORE_SUBJECT_IDENTIFIER_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "lib/core/errors.h"

namespace dsar {

// Values are stable: they are stored (task payloads, key derivations).
enum class IdentifierType { kEmail, kCustomerId, kPhone };

struct SubjectIdentifier {
  IdentifierType type = IdentifierType::kEmail;
  std::string value;  // personal data: sealed or keyed at rest, never logged
};

// "email", "customer_id", "phone"; "" for a value out of range.
const char* IdentifierTypeName(IdentifierType type);
// The type named by IdentifierTypeName; nullopt for anything else.
std::optional<IdentifierType> ParseIdentifierType(absl::string_view name);

// Normalises `id.value` in place for its type. On a bad type or value adds a
// violation to `errors` named `field` + ".type" or `field` + ".value" and
// returns false.
bool NormaliseIdentifier(SubjectIdentifier& id, absl::string_view field, FieldErrors& errors);

}  // namespace dsar

#endif  // DSAR_LIB_CORE_SUBJECT_IDENTIFIER_H_
