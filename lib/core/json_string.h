// JSON string literals for the hand-built JSON of hot paths (log lines,
// alert payloads), where building an nlohmann::json value per field would
// cost more than the rest of the work. One escaper, byte-for-byte the same
// as nlohmann::json::dump: '"' and '\\' escaped, the control characters as
// \b \f \n \r \t or \u00XX; every other byte (UTF-8 included) as it is.
#ifndef DSAR_LIB_CORE_JSON_STRING_H_
#define DSAR_LIB_CORE_JSON_STRING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace dsar {

// Appends `s` to `out` as a quoted JSON string.
void AppendJsonString(std::string& out, absl::string_view s);

}  // namespace dsar

#endif  // DSAR_LIB_CORE_JSON_STRING_H_
