// Request bounds the transport checks for every dsar.v1 call, whatever the
// method: each google.protobuf.Timestamp in a request, at any depth, must lie
// in [1970-01-01T00:00:00Z, 2200-01-01T00:00:00Z) with nanos in
// [0, 999,999,999]. RecordConsent once accepted give_time 0001-01-01; the
// domain code (absl::Time, microsecond columns) should never see a time no
// caller can mean. Checked by reflection, so a field added to any request is
// covered without a line here; messages without Timestamps are skipped after
// one look at their descriptor.
//
// Thread-safe.
#ifndef DSAR_SERVICES_REQUEST_BOUNDS_H_
#define DSAR_SERVICES_REQUEST_BOUNDS_H_

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace google::protobuf {
class Message;
}

namespace dsar {

// The earliest and the first refused time.
inline constexpr int64_t kEarliestTimestampSeconds = 0;         // 1970-01-01T00:00:00Z
inline constexpr int64_t kLatestTimestampSeconds = 7258118400;  // 2200-01-01T00:00:00Z

// OK, or INVALID_ARGUMENT with a google.rpc.BadRequest field violation per
// Timestamp out of bounds, named by its path ("give_time",
// "details.occur_time", "items[2].change_time").
absl::Status CheckRequestBounds(const google::protobuf::Message& request);

}  // namespace dsar

#endif  // DSAR_SERVICES_REQUEST_BOUNDS_H_
