#include "tools/bench/report.h"

#include "absl/strings/str_cat.h"
#include "tools/bench/bench_config.h"

namespace dsar::bench {
namespace {

double Micros(absl::Duration d) { return absl::ToDoubleMicroseconds(d); }

void CheckOutcome(benchmark::State& state, int64_t ok, int64_t errors, const std::string& summary) {
  if (errors == 0 && ok > 0) return;
  std::string why = errors > 0 ? absl::StrCat("errors: ", summary) : "no successful call";
  state.SetLabel(why);
  MarkFailed(CurrentBenchmarkName(), why);
}

}  // namespace

std::string& CurrentBenchmarkName() {
  static std::string* name = new std::string;
  return *name;
}

void ReportLoad(benchmark::State& state, const LoadResult& r) {
  state.SetIterationTime(absl::ToDoubleSeconds(r.elapsed));
  state.counters["items_per_second"] = r.qps;
  state.counters["ok"] = static_cast<double>(r.ok);
  state.counters["errors"] = static_cast<double>(r.errors);
  state.counters["p50_us"] = Micros(r.p50);
  state.counters["p90_us"] = Micros(r.p90);
  state.counters["p99_us"] = Micros(r.p99);
  state.counters["max_us"] = Micros(r.max);
  state.counters["cpu_us_per_call"] =
      r.ok > 0 ? Micros(r.process_cpu) / static_cast<double>(r.ok) : 0;
  CheckOutcome(state, r.ok, r.errors, r.ErrorSummary());
}

void ReportStoreLoad(benchmark::State& state, const StoreLoadResult& r) {
  state.SetIterationTime(absl::ToDoubleSeconds(r.elapsed));
  state.counters["items_per_second"] = r.writes_per_second;
  state.counters["ok"] = static_cast<double>(r.ok);
  state.counters["errors"] = static_cast<double>(r.errors);
  state.counters["p50_us"] = Micros(r.p50);
  state.counters["p99_us"] = Micros(r.p99);
  state.counters["max_us"] = Micros(r.max);
  state.counters["groups"] = static_cast<double>(r.groups);
  state.counters["mean_group"] = r.mean_group;
  state.counters["largest_group"] = static_cast<double>(r.largest_group);
  CheckOutcome(state, r.ok, r.errors, r.ErrorSummary());
}

void Fail(benchmark::State& state, const absl::Status& status) {
  std::string why(status.ToString());
  MarkFailed(CurrentBenchmarkName(), why);
  state.SkipWithError(why.c_str());
}

}  // namespace dsar::bench
