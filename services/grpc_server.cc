#include "services/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "dsar/config/v1/config.pb.h"
#include "grpc/health/v1/health.pb.h"

namespace dsar {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentialsFromConfig(
    const config::v1::TlsConfig& tls) {
  for (const std::string& file : {tls.cert_file(), tls.key_file(), tls.client_ca_file()}) {
    if (!file.empty() && !std::ifstream(file).good()) {
      return absl::FailedPreconditionError(absl::StrCat(file, ": cannot read TLS file"));
    }
  }
  const int refresh = tls.refresh_interval_seconds() > 0 ? tls.refresh_interval_seconds() : 10;
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (tls.client_ca_file().empty()) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        tls.key_file(), tls.cert_file(), refresh);
  } else {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        tls.key_file(), tls.cert_file(), tls.client_ca_file(), refresh);
  }
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!tls.client_ca_file().empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(tls.require_client_cert()
                                      ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                      : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

void ApplyServerConfig(const config::v1::ServerConfig& s, GrpcServerOptions* o) {
  if (s.max_concurrent_streams_per_connection() > 0) {
    o->max_concurrent_streams = s.max_concurrent_streams_per_connection();
  }
  if (s.keepalive_time_seconds() > 0) o->keepalive_time = absl::Seconds(s.keepalive_time_seconds());
  if (s.keepalive_timeout_seconds() > 0) {
    o->keepalive_timeout = absl::Seconds(s.keepalive_timeout_seconds());
  }
  if (s.min_client_ping_interval_seconds() > 0) {
    o->min_client_ping_interval = absl::Seconds(s.min_client_ping_interval_seconds());
  }
  if (s.max_connection_idle_seconds() > 0) {
    o->max_connection_idle = absl::Seconds(s.max_connection_idle_seconds());
  }
  if (s.max_connection_age_seconds() > 0) {
    o->max_connection_age = absl::Seconds(s.max_connection_age_seconds());
  }
  if (s.max_connection_age_grace_seconds() > 0) {
    o->max_connection_age_grace = absl::Seconds(s.max_connection_age_grace_seconds());
  }
  if (s.resource_quota_mib() > 0) o->resource_quota_bytes = int64_t{s.resource_quota_mib()} << 20;
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options, const std::vector<grpc::Service*>& services) {
  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's health service is implemented in C; referencing the C++ copy of its
  // proto links that copy in, so reflection can describe grpc.health.v1.Health.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::unique_ptr<GrpcServer> out(new GrpcServer());
  grpc::ServerBuilder builder;
  auto creds = options.credentials ? options.credentials : grpc::InsecureServerCredentials();
  builder.AddListeningPort(options.listen_address, creds, &out->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  // HTTP/2 limits (docs/operations.md, "Hostile clients and gRPC's HTTP/2
  // CVEs"): streams per connection, keepalive enforced both ways,
  // connections closed when idle or old, and one memory quota for them all.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  auto ms = [](absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); };
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ms(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ms(options.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, ms(options.max_connection_idle));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, ms(options.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             ms(options.max_connection_age_grace));
  grpc::ResourceQuota quota("dsard");
  quota.Resize(static_cast<size_t>(options.resource_quota_bytes));
  builder.SetResourceQuota(quota);
  for (grpc::Service* service : services) builder.RegisterService(service);
  out->server_ = builder.BuildAndStart();
  if (out->server_ == nullptr || out->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address));
  }
  out->host_ = options.listen_address.substr(0, options.listen_address.rfind(':'));
  out->server_->GetHealthCheckService()->SetServingStatus(true);
  return out;
}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

std::string GrpcServer::address() const { return absl::StrCat(host_, ":", port_); }

void GrpcServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

}  // namespace dsar
