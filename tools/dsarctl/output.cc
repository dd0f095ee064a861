#include "tools/dsarctl/output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace dsar::dsarctl {
namespace {

const std::string& OrDash(const std::string& s) {
  static const std::string kDash = "-";
  return s.empty() ? kDash : s;
}

// A cell as it may reach a terminal: empty as "-", control characters escaped.
std::string Cell(const std::string& s) { return EscapeControl(OrDash(s)); }

// "CONNECTOR_TASK_STATE_" for ConnectorTaskState: the UNSPECIFIED value's
// name without "UNSPECIFIED" (buf's ENUM_ZERO_VALUE_SUFFIX rule).
std::string EnumPrefix(const google::protobuf::EnumDescriptor* type) {
  if (type->value_count() == 0) return "";
  const std::string& zero = type->value(0)->name();
  constexpr absl::string_view kUnspecified = "UNSPECIFIED";
  if (absl::EndsWith(zero, kUnspecified)) return zero.substr(0, zero.size() - kUnspecified.size());
  return "";
}

}  // namespace

std::string EscapeControl(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      // U+0080..U+009F (C1 controls, e.g. U+009B CSI) in UTF-8.
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(text[++i]));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths(headers_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], Cell(row[i]).size());
    }
  };
  measure(headers_);
  for (const auto& row : rows_) measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? Cell(row[i]) : OrDash("");
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  };
  print(headers_);
  for (const auto& row : rows_) print(row);
}

void PrintKeyValues(std::ostream& out, const KeyValues& values) {
  size_t width = 0;
  for (const auto& [k, v] : values) width = std::max(width, k.size());
  for (const auto& [k, v] : values) {
    out << k << ":" << std::string(width - k.size() + 2, ' ') << Cell(v) << "\n";
  }
}

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return absl::StrCat("{\"error\":\"cannot print as JSON\"}");
  if (pretty && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  absl::Time time = absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  if (t.nanos() == 0) return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

std::string FormatDuration(const google::protobuf::Duration& d) {
  if (d.seconds() == 0 && d.nanos() == 0) return "-";
  absl::Duration duration = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  // Whole seconds above a minute read better without fractions.
  if (absl::AbsDuration(duration) >= absl::Minutes(1)) {
    duration = absl::Trunc(duration, absl::Seconds(1));
  }
  return absl::FormatDuration(duration);
}

std::string YesNo(bool b) { return b ? "yes" : "no"; }

std::string Percent(double fraction) { return absl::StrFormat("%.1f%%", fraction * 100.0); }

std::string HumanBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(bytes, " B");
  return absl::StrFormat("%.1f %s", value, units[unit]);
}

std::string EnumLabel(const google::protobuf::EnumDescriptor* type, int value) {
  const auto* v = type->FindValueByNumber(value);
  if (v == nullptr) return absl::StrCat(value);
  std::string name = v->name();
  const std::string prefix = EnumPrefix(type);
  if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  if (name == "UNSPECIFIED") return "-";
  return absl::StrReplaceAll(absl::AsciiStrToLower(name), {{"_", "-"}});
}

std::vector<std::string> EnumLabels(const google::protobuf::EnumDescriptor* type) {
  std::vector<std::string> out;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() == 0) continue;
    out.push_back(EnumLabel(type, type->value(i)->number()));
  }
  return out;
}

std::optional<int> ParseEnumLabel(const google::protobuf::EnumDescriptor* type,
                                  absl::string_view label) {
  std::string wanted = absl::StrReplaceAll(absl::AsciiStrToLower(label), {{"_", "-"}});
  for (int i = 0; i < type->value_count(); ++i) {
    int number = type->value(i)->number();
    if (number != 0 && EnumLabel(type, number) == wanted) return number;
  }
  return std::nullopt;
}

bool ParseTimeFlag(absl::string_view text, absl::Time* out) {
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, out, &error)) return true;
  return absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), out, &error);
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(t);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

}  // namespace dsar::dsarctl
