// Structured JSON logging on top of spdlog.
//
// Every line is one JSON object: {"ts":..., "level":..., "event":..., fields}.
// Events are fixed names ("server_listening", "writer_commit_failed"); fields
// hold ids, counts and codes only. Never pass personal data (names, e-mail
// addresses, subject identifiers) to these functions. Thread-safe.
#ifndef DSAR_LIB_CORE_LOG_H_
#define DSAR_LIB_CORE_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace dsar::log {

enum class Level { kDebug, kInfo, kWarn, kError };

struct Field {
  Field(absl::string_view k, absl::string_view v) : key(k), value(std::string(v)) {}
  Field(absl::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Field(absl::string_view k, const std::string& v) : key(k), value(v) {}
  Field(absl::string_view k, int v) : key(k), value(int64_t{v}) {}
  Field(absl::string_view k, int64_t v) : key(k), value(v) {}
  Field(absl::string_view k, uint64_t v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(absl::string_view k, double v) : key(k), value(v) {}
  Field(absl::string_view k, bool v) : key(k), value(v) {}
  absl::string_view key;
  std::variant<std::string, int64_t, double, bool> value;
};

// Sends logs to stderr at `level` ("trace".."error"); returns InvalidArgument
// for an unknown level name.
absl::Status Init(absl::string_view level);

void Write(Level level, absl::string_view event, std::initializer_list<Field> fields);

// Events written to stderr with one write instead of one each, for bursts
// (the deadline log sink writes up to a thousand alerts at a time). Each event
// is the line Write would print, with the time it was added; no other
// thread's line lands inside a batch. Not thread-safe (one owner). Flush()
// also runs on destruction.
class Batch {
 public:
  Batch() = default;
  ~Batch() { Flush(); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  void Add(Level level, absl::string_view event, std::initializer_list<Field> fields);
  void Flush();

 private:
  // The first line's fields (its time and level come from the logger), then
  // every further line complete but for its final "}".
  std::string text_;
  Level first_level_ = Level::kInfo;
  bool empty_ = true;
};

inline void Debug(absl::string_view event, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, event, f);
}
inline void Info(absl::string_view event, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, event, f);
}
inline void Warn(absl::string_view event, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, event, f);
}
inline void Error(absl::string_view event, std::initializer_list<Field> f = {}) {
  Write(Level::kError, event, f);
}

}  // namespace dsar::log

#endif  // DSAR_LIB_CORE_LOG_H_
