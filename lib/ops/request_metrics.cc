#include "lib/ops/request_metrics.h"

#include <algorithm>

#include "absl/status/status.h"

namespace dsar::ops {

constexpr std::array<double, 14> RequestMetrics::kLatencyBounds;

RequestMetrics::RequestMetrics(const std::vector<std::string>& methods) {
  for (const std::string& full : methods) {
    if (index_.contains(full)) continue;
    auto stats = std::make_unique<MethodStats>();
    absl::string_view name = full;
    if (!name.empty() && name[0] == '/') name.remove_prefix(1);
    auto slash = name.find('/');
    stats->service = std::string(name.substr(0, slash));
    stats->method = slash == absl::string_view::npos ? "" : std::string(name.substr(slash + 1));
    index_[full] = static_cast<int>(methods_.size());
    methods_.push_back(std::move(stats));
  }
  auto unknown = std::make_unique<MethodStats>();
  unknown->service = "unknown";
  unknown->method = "unknown";
  methods_.push_back(std::move(unknown));
}

int RequestMetrics::MethodIndex(absl::string_view full_method) const {
  auto it = index_.find(full_method);
  return it == index_.end() ? static_cast<int>(methods_.size()) - 1 : it->second;
}

void RequestMetrics::Record(int method_index, int code, absl::Duration latency) {
  if (method_index < 0 || method_index >= static_cast<int>(methods_.size())) {
    method_index = static_cast<int>(methods_.size()) - 1;
  }
  if (code < 0 || code >= kCodes) code = static_cast<int>(absl::StatusCode::kUnknown);
  CodeStats& stats = methods_[method_index]->codes[code];
  const double seconds = absl::ToDoubleSeconds(latency);
  const size_t bucket = std::lower_bound(kLatencyBounds.begin(), kLatencyBounds.end(), seconds) -
                        kLatencyBounds.begin();
  stats.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  stats.sum_micros.fetch_add(
      static_cast<uint64_t>(std::max<int64_t>(0, absl::ToInt64Microseconds(latency))),
      std::memory_order_relaxed);
}

void RequestMetrics::WriteTo(PrometheusText& out) const {
  out.Family("dsar_grpc_server_handled_total", "counter",
             "gRPC calls completed by dsard, by method and status code.");
  struct Row {
    Labels labels;
    HistogramData data;
  };
  std::vector<Row> rows;
  for (const auto& m : methods_) {
    for (int code = 0; code < kCodes; ++code) {
      const CodeStats& stats = m->codes[code];
      HistogramData data;
      data.bounds.assign(kLatencyBounds.begin(), kLatencyBounds.end());
      uint64_t total = 0;
      for (const auto& b : stats.buckets) {
        data.counts.push_back(b.load(std::memory_order_relaxed));
        total += data.counts.back();
      }
      if (total == 0) continue;
      data.sum = static_cast<double>(stats.sum_micros.load(std::memory_order_relaxed)) / 1e6;
      Labels labels = {
          {"grpc_service", m->service},
          {"grpc_method", m->method},
          {"grpc_code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))}};
      out.Sample("dsar_grpc_server_handled_total", labels, static_cast<double>(total));
      rows.push_back({std::move(labels), std::move(data)});
    }
  }
  out.Family("dsar_grpc_server_handling_seconds", "histogram",
             "Time from a call's arrival to its status being sent (streams: their lifetime).");
  for (const auto& row : rows)
    out.Histogram("dsar_grpc_server_handling_seconds", row.labels, row.data);
}

uint64_t RequestMetrics::Count(absl::string_view full_method, int code) const {
  const int index = MethodIndex(full_method);
  if (code < 0 || code >= kCodes) return 0;
  uint64_t total = 0;
  for (const auto& b : methods_[index]->codes[code].buckets) total += b.load();
  return total;
}

}  // namespace dsar::ops
