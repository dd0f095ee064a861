#include "lib/privacy_requests/privacy_requests_module.h"

#include "lib/connector/grpc_connector_client.h"
#include "lib/core/log.h"
#include "lib/privacy_requests/rekey.h"

namespace dsar::privacy_requests {

absl::StatusOr<std::unique_ptr<PrivacyRequestsModule>> PrivacyRequestsModule::Create(
    const config::v1::DsardConfig& config, ModuleDeps deps) {
  auto options = RequestOptionsFromConfig(config);
  if (!options.ok()) return options.status();
  std::unique_ptr<PrivacyRequestsModule> m(new PrivacyRequestsModule());
  if (deps.store == nullptr || deps.clock == nullptr || deps.deadlines == nullptr ||
      deps.keyer == nullptr || deps.registry == nullptr || deps.sealer == nullptr) {
    return absl::InvalidArgumentError("PrivacyRequestsModule: a required dependency is null");
  }
  auto wrapper = KeyWrapper::FromSecretFile(ExportKeyFile(config));
  if (!wrapper.ok()) return wrapper.status();
  m->key_wrapper_ = std::move(*wrapper);
  RequestEnv& env = m->env_;
  env.store = deps.store;
  env.clock = deps.clock;
  env.deadlines = deps.deadlines;
  env.keyer = deps.keyer;
  env.consent_index = deps.consent_index;
  env.catalog = deps.catalog;
  env.sealer = deps.sealer;
  env.key_wrapper = m->key_wrapper_.get();
  env.registry = deps.registry;
  env.options = std::move(*options);
  // Stored subject keys to the typed scheme, once, before any request is served.
  if (auto rekeyed = RekeyRequestSubjects(env); !rekeyed.ok()) return rekeyed.status();
  m->requests_ = std::make_unique<PrivacyRequests>(&env);
  m->hooks_ = std::make_unique<TaskHooks>(&env);
  m->sinks_ = std::make_unique<ExportSinks>(&env);
  m->worker_ = std::make_unique<RequestWorker>(&env);
  if (env.options.retention_scan_interval > absl::ZeroDuration()) {
    // Its own connections: listing relationships never waits behind tasks.
    absl::flat_hash_map<std::string, connector::ConnectorClient*> clients;
    for (const auto& c : deps.registry->connectors()) {
      auto client = connector::NewGrpcConnectorClient(c.endpoint);
      if (!client.ok()) return client.status();
      clients[c.name] = client->get();
      m->retention_clients_.push_back(std::move(*client));
    }
    std::vector<std::string> tenants;
    for (const auto& t : config.tenants()) tenants.push_back(t.id());
    m->retention_ = std::make_unique<RetentionJob>(&env, m->requests_.get(), std::move(clients),
                                                   std::move(tenants));
  }
  log::Info("privacy_requests_ready",
            {{"export_ttl_hours", absl::ToInt64Hours(env.options.export_ttl)},
             {"pause_clock_until_verified", env.options.pause_clock_until_verified},
             {"callbacks", !env.options.callback_secret.empty()}});
  return m;
}

PrivacyRequestsModule::~PrivacyRequestsModule() {
  if (retention_) retention_->Stop();
  if (worker_) worker_->Stop();
}

}  // namespace dsar::privacy_requests
