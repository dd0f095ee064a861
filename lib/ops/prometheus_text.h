// PrometheusText: writes metrics in the Prometheus text exposition format
// (version 0.0.4): "# HELP" and "# TYPE" once per family, then samples with
// escaped label values; histograms as cumulative _bucket{le=...}, _sum and
// _count. Used by the admin endpoint; holds no state beyond the text.
//
// Not thread-safe: one writer per scrape.
#ifndef DSAR_LIB_OPS_PROMETHEUS_TEXT_H_
#define DSAR_LIB_OPS_PROMETHEUS_TEXT_H_

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace dsar::ops {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A histogram's state: counts[i] is the number of observations in bucket i
// (not cumulative): bounds[i-1] < v <= bounds[i]; counts has one more entry
// than bounds, for v > bounds.back() (+Inf).
struct HistogramData {
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  double sum = 0;
};

class PrometheusText {
 public:
  // Starts a family; `type` is "counter", "gauge" or "histogram". A family
  // already written is not repeated.
  void Family(absl::string_view name, absl::string_view type, absl::string_view help);
  void Sample(absl::string_view name, const Labels& labels, double value);
  // _bucket, _sum and _count samples of family `name`.
  void Histogram(absl::string_view name, const Labels& labels, const HistogramData& data);

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::set<std::string> families_;
};

// Label value escaping: backslash, double quote and newline.
std::string EscapeLabelValue(absl::string_view value);
// A sample value: integers without a fraction, "+Inf", "NaN".
std::string FormatSampleValue(double value);

}  // namespace dsar::ops

#endif  // DSAR_LIB_OPS_PROMETHEUS_TEXT_H_
