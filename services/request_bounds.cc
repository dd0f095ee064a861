#include "services/request_bounds.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "lib/core/errors.h"

namespace dsar {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool IsTimestamp(const Descriptor* d) {
  return d == google::protobuf::Timestamp::descriptor() ||
         d->full_name() == "google.protobuf.Timestamp";
}

// Whether messages of type `d` can hold a Timestamp anywhere; cached per type.
bool MayHoldTimestamp(const Descriptor* d);

bool ComputeMayHold(const Descriptor* d, std::vector<const Descriptor*>& visiting) {
  if (IsTimestamp(d)) return true;
  for (const Descriptor* v : visiting) {
    if (v == d) return false;  // recursive type: answered by the outer walk
  }
  visiting.push_back(d);
  bool holds = false;
  for (int i = 0; i < d->field_count() && !holds; ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      holds = ComputeMayHold(f->message_type(), visiting);
    }
  }
  visiting.pop_back();
  return holds;
}

bool MayHoldTimestamp(const Descriptor* d) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* cache = new absl::flat_hash_map<const Descriptor*, bool>();
  {
    absl::ReaderMutexLock lock(&mu);
    auto it = cache->find(d);
    if (it != cache->end()) return it->second;
  }
  std::vector<const Descriptor*> visiting;
  const bool holds = ComputeMayHold(d, visiting);
  absl::MutexLock lock(&mu);
  (*cache)[d] = holds;
  return holds;
}

void CheckTimestamp(const Message& m, const std::string& path, FieldErrors& errors) {
  const Reflection* r = m.GetReflection();
  const Descriptor* d = m.GetDescriptor();
  const int64_t seconds = r->GetInt64(m, d->FindFieldByName("seconds"));
  const int32_t nanos = r->GetInt32(m, d->FindFieldByName("nanos"));
  if (seconds < kEarliestTimestampSeconds || seconds >= kLatestTimestampSeconds || nanos < 0 ||
      nanos > 999999999) {
    errors.Add(path,
               "must be a time from 1970-01-01T00:00:00Z to before 2200-01-01T00:00:00Z "
               "(nanos 0 to 999999999)");
  }
}

void Walk(const Message& m, const std::string& prefix, FieldErrors& errors) {
  if (!MayHoldTimestamp(m.GetDescriptor())) return;
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (!MayHoldTimestamp(f->message_type())) continue;
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    auto visit = [&](const Message& child, const std::string& at) {
      if (IsTimestamp(child.GetDescriptor())) {
        CheckTimestamp(child, at, errors);
      } else {
        Walk(child, at, errors);
      }
    };
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        visit(r->GetRepeatedMessage(m, f, i), absl::StrCat(path, "[", i, "]"));
      }
    } else {
      visit(r->GetMessage(m, f), path);
    }
  }
}

}  // namespace

absl::Status CheckRequestBounds(const google::protobuf::Message& request) {
  FieldErrors errors;
  Walk(request, "", errors);
  if (errors.empty()) return absl::OkStatus();
  return errors.ToStatus();
}

}  // namespace dsar
