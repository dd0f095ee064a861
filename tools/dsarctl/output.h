// Output helpers shared by every dsarctl command: aligned tables and
// key/value blocks for people, protobuf JSON for scripts, and the formatting
// of times, durations and enum values.
//
// Not thread-safe (one command prints at a time).
#ifndef DSAR_TOOLS_DSARCTL_OUTPUT_H_
#define DSAR_TOOLS_DSARCTL_OUTPUT_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dsar::dsarctl {

// Text as it may reach a terminal: control characters (C0, DEL and the C1
// range U+0080..U+009F) as \xNN / \u00NN escapes, so that a
// value stored by someone else (a request id, a reason) cannot move the
// cursor, rewrite earlier lines or change the terminal's title.
std::string EscapeControl(absl::string_view text);

// A table with a header row; columns are padded to their widest cell and
// separated by two spaces. Empty cells print as "-"; cells pass through
// EscapeControl.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  size_t size() const { return rows_.size(); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "key:  value" lines with the values aligned. Empty values print as "-";
// values pass through EscapeControl.
using KeyValues = std::vector<std::pair<std::string, std::string>>;
void PrintKeyValues(std::ostream& out, const KeyValues& values);

// Protobuf JSON (lowerCamelCase names, enum names, every field printed even
// when it holds its default, so scripts see a stable shape). `pretty` indents;
// otherwise one line (for streams).
std::string ToJson(const google::protobuf::Message& message, bool pretty = true);

// RFC 3339 in UTC, e.g. "2026-01-01T00:00:00Z"; "-" when unset (0).
std::string FormatTime(const google::protobuf::Timestamp& t);
// Compact duration such as "72h", "3h30m", "-24h", "1.5s"; "-" when zero.
std::string FormatDuration(const google::protobuf::Duration& d);
std::string YesNo(bool b);
// 0.0-1.0 as a percentage with one decimal, e.g. "97.5%".
std::string Percent(double fraction);
// Bytes as "12.3 MiB".
std::string HumanBytes(int64_t bytes);

// Enum values as short lower-case labels: CONNECTOR_TASK_STATE_DEAD -> "dead",
// LAWFUL_BASIS_LEGITIMATE_INTERESTS -> "legitimate-interests".
std::string EnumLabel(const google::protobuf::EnumDescriptor* type, int value);
// Every label except the UNSPECIFIED one, in declaration order.
std::vector<std::string> EnumLabels(const google::protobuf::EnumDescriptor* type);
// The value for a label ('-' and '_' both accepted, any case); nullopt if none.
std::optional<int> ParseEnumLabel(const google::protobuf::EnumDescriptor* type,
                                  absl::string_view label);

// Parses "2026-01-31T12:00:00Z" (RFC 3339) or "2026-01-31" (midnight UTC).
bool ParseTimeFlag(absl::string_view text, absl::Time* out);
void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);
void SetDuration(absl::Duration d, google::protobuf::Duration* out);

}  // namespace dsar::dsarctl

#endif  // DSAR_TOOLS_DSARCTL_OUTPUT_H_
