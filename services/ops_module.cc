#include "services/ops_module.h"

#include <filesystem>

#include "lib/consent/consent_state_index.h"
#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/ops/backup.h"
#include "lib/ops/prometheus_text.h"
#include "lib/ops/request_metrics.h"
#include "lib/ops/state_counts.h"
#include "lib/store/store.h"
#include "services/admin_http.h"
#include "services/admin_service.h"
#include "services/call_gate.h"

namespace dsar {
namespace {

// Every method the server may see: the access table's (every dsar.v1
// method), plus health and reflection, which are outside it.
std::vector<std::string> KnownMethods() {
  std::vector<std::string> methods = MethodPolicy::Default().Methods();
  for (const char* m : {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
                        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"}) {
    methods.push_back(m);
  }
  return methods;
}

ops::HistogramData Histogram(const double* bounds, size_t n, const int64_t* counts, double sum) {
  ops::HistogramData data;
  data.bounds.assign(bounds, bounds + n);
  for (size_t i = 0; i <= n; ++i) data.counts.push_back(static_cast<uint64_t>(counts[i]));
  data.sum = sum;
  return data;
}

}  // namespace

absl::StatusOr<std::unique_ptr<OpsModule>> OpsModule::Create(const config::v1::DsardConfig& config,
                                                             store::Store* store, CallGate* gate,
                                                             Clock* clock) {
  std::unique_ptr<OpsModule> s(new OpsModule());
  s->store_ = store;
  s->gate_ = gate;
  s->clock_ = clock != nullptr ? clock : SystemClock::Default();
  s->start_time_ = absl::Now();
  s->admin_address_ = config.admin_listen_address();
  s->request_metrics_ = std::make_unique<ops::RequestMetrics>(KnownMethods());
  ops::BackupOptions backup;
  std::filesystem::path dir = config.backup().directory();
  if (dir.empty()) dir = std::filesystem::path(config.database_path()).parent_path() / "backups";
  backup.directory = std::filesystem::absolute(dir).lexically_normal().string();
  backup.keep = config.backup().keep() > 0 ? config.backup().keep() : 7;
  backup.interval = absl::Minutes(config.backup().interval_minutes());
  s->backups_ = std::make_unique<ops::BackupManager>(store, s->clock_, backup);
  s->admin_service_ = std::make_unique<AdminServiceImpl>(gate, s->backups_.get());
  return s;
}

OpsModule::~OpsModule() { Stop(); }

grpc::Service* OpsModule::admin_service() { return admin_service_.get(); }

absl::Status OpsModule::Start() {
  backups_->Start();
  if (admin_address_.empty()) return absl::OkStatus();
  auto http = AdminHttpServer::Start(admin_address_, [this] { return RenderMetrics(); });
  if (!http.ok()) return http.status();
  admin_http_ = std::move(*http);
  log::Info("admin_listening", {{"address", admin_address_}, {"port", admin_http_->port()}});
  return absl::OkStatus();
}

void OpsModule::Stop() {
  if (admin_http_) {
    admin_http_->Stop();
    admin_http_.reset();
  }
  if (backups_) backups_->Stop();
}

int OpsModule::admin_port() const { return admin_http_ ? admin_http_->port() : 0; }

std::string OpsModule::RenderMetrics() {
  ops::PrometheusText out;
  request_metrics_->WriteTo(out);
  out.Family("dsar_grpc_server_in_flight", "gauge", "Unary calls admitted and not yet answered.");
  out.Sample("dsar_grpc_server_in_flight", {}, gate_ != nullptr ? gate_->in_flight() : 0);
  out.Family("dsar_grpc_server_open_streams", "gauge",
             "Server streams (WatchAlerts, DownloadExport) admitted and still open.");
  out.Sample("dsar_grpc_server_open_streams", {}, gate_ != nullptr ? gate_->open_streams() : 0);
  if (consent_index_ != nullptr) {
    out.Family("dsar_consent_index_enabled", "gauge",
               "1 while CheckConsent answers from memory; 0 once the index switched off.");
    out.Sample("dsar_consent_index_enabled", {}, consent_index_->enabled() ? 1 : 0);
    out.Family("dsar_consent_index_states", "gauge",
               "Consent states held in memory (about 140 bytes each with slack).");
    out.Sample("dsar_consent_index_states", {}, static_cast<double>(consent_index_->size()));
  }

  const store::WriterStats w = store_->writer_stats();
  out.Family("dsar_store_writes_committed_total", "counter", "Writes committed by the writer.");
  out.Sample("dsar_store_writes_committed_total", {}, static_cast<double>(w.writes_committed));
  out.Family("dsar_store_writes_failed_total", "counter",
             "Writes rolled back (their own error or a failed commit).");
  out.Sample("dsar_store_writes_failed_total", {}, static_cast<double>(w.writes_failed));
  out.Family("dsar_store_groups_committed_total", "counter", "Group commits (one fsync each).");
  out.Sample("dsar_store_groups_committed_total", {}, static_cast<double>(w.groups_committed));
  out.Family("dsar_store_group_size", "histogram", "Writes per group transaction.");
  out.Histogram("dsar_store_group_size", {},
                Histogram(store::WriterStats::kGroupSizeBounds.data(),
                          store::WriterStats::kGroupSizeBounds.size(), w.group_size_counts.data(),
                          static_cast<double>(w.group_size_sum)));
  out.Family("dsar_store_commit_seconds", "histogram",
             "Time from BEGIN to the end of COMMIT (fsync included) per group.");
  out.Histogram("dsar_store_commit_seconds", {},
                Histogram(store::WriterStats::kCommitSecondsBounds.data(),
                          store::WriterStats::kCommitSecondsBounds.size(),
                          w.commit_seconds_counts.data(), w.commit_seconds_sum));
  out.Family("dsar_store_writer_cpu_seconds_total", "counter",
             "CPU time of the store's single writer thread in its group transactions "
             "(near 1 per second of wall time: the writer is the bottleneck).");
  out.Sample("dsar_store_writer_cpu_seconds_total", {}, w.writer_cpu_seconds_sum);
  out.Family("dsar_store_wal_checkpoints_total", "counter",
             "WAL checkpoints the writer ran: when=idle after a commit that left nothing "
             "queued, when=commit inside a commit that took the WAL to 1,000 pages.");
  out.Sample("dsar_store_wal_checkpoints_total", {{"when", "idle"}},
             static_cast<double>(w.idle_checkpoints));
  out.Sample("dsar_store_wal_checkpoints_total", {{"when", "commit"}},
             static_cast<double>(w.commit_checkpoints));

  auto counts = ops::ReadStateCounts(*store_, clock_->Now());
  if (counts.ok()) {
    ops::WriteStateCounts(*counts, out);
  } else {
    log::Warn("metrics_state_counts_failed",
              {{"code", absl::StatusCodeToString(counts.status().code())}});
  }
  out.Family("dsar_metrics_state_counts_ok", "gauge",
             "1 when the state gauges above could be read from the store.");
  out.Sample("dsar_metrics_state_counts_ok", {}, counts.ok() ? 1 : 0);

  const ops::BackupManager::Stats b = backups_->stats();
  out.Family("dsar_backups_total", "counter", "Backups attempted, by outcome.");
  out.Sample("dsar_backups_total", {{"outcome", "ok"}}, static_cast<double>(b.succeeded));
  out.Sample("dsar_backups_total", {{"outcome", "error"}}, static_cast<double>(b.failed));
  if (b.succeeded > 0) {
    out.Family("dsar_backup_last_success_timestamp_seconds", "gauge",
               "When the last good backup's snapshot was taken (Unix time).");
    out.Sample("dsar_backup_last_success_timestamp_seconds", {},
               absl::ToDoubleSeconds(b.last_success - absl::UnixEpoch()));
    out.Family("dsar_backup_last_duration_seconds", "gauge", "How long the last good backup took.");
    out.Sample("dsar_backup_last_duration_seconds", {}, absl::ToDoubleSeconds(b.last_duration));
    out.Family("dsar_backup_last_size_bytes", "gauge", "Size of the last good backup.");
    out.Sample("dsar_backup_last_size_bytes", {}, static_cast<double>(b.last_size_bytes));
  }
  out.Family("dsar_process_start_time_seconds", "gauge", "When dsard started (Unix time).");
  out.Sample("dsar_process_start_time_seconds", {},
             absl::ToDoubleSeconds(start_time_ - absl::UnixEpoch()));
  return out.text();
}

}  // namespace dsar
