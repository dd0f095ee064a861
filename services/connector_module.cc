#include "services/connector_module.h"

#include "lib/connector/grpc_connector_client.h"
#include "lib/core/log.h"

namespace dsar {

absl::StatusOr<std::unique_ptr<ConnectorModule>> ConnectorModule::Start(
    const config::v1::DsardConfig& config, store::Store* store, Clock* clock,
    const connector::ConnectorRegistry* registry, const connector::PayloadSealer* sealer,
    ConnectorAdmitFn admit, ConnectorStartFn start, ConnectorHooks hooks) {
  std::unique_ptr<ConnectorModule> s(new ConnectorModule());
  s->outbox_ = std::make_unique<connector::Outbox>(registry, sealer);

  connector::DispatcherDeps deps;
  deps.store = store;
  deps.clock = clock;
  deps.outbox = s->outbox_.get();
  deps.sealer = sealer;
  for (const auto& c : registry->connectors()) {
    auto client = connector::NewGrpcConnectorClient(c.endpoint);
    if (!client.ok()) return client.status();
    deps.clients[c.name] = client->get();
    s->clients_.push_back(std::move(*client));
  }
  s->random_ = std::make_unique<delivery::DefaultRandomSource>();
  deps.random = s->random_.get();
  deps.dead_letters = hooks.dead_letters;
  deps.results = hooks.results;
  deps.exports = hooks.exports;
  connector::DispatcherOptions options;
  options.poll_interval = absl::Milliseconds(config.outbox().poll_interval_ms());
  options.health_interval = absl::Milliseconds(config.outbox().health_interval_ms());
  options.waiting_poll = absl::Milliseconds(config.outbox().waiting_poll_ms());
  s->dispatcher_ = std::make_unique<connector::Dispatcher>(std::move(deps), options);
  if (absl::Status started = s->dispatcher_->Start(); !started.ok()) return started;
  s->admin_ =
      std::make_unique<connector::ConnectorAdmin>(store, clock, registry, s->dispatcher_.get());
  s->service_ =
      std::make_unique<ConnectorServiceImpl>(std::move(admit), std::move(start), s->admin_.get());
  log::Info("connectors_started", {{"connectors", static_cast<int>(s->clients_.size())},
                                   {"owner", s->dispatcher_->owner()}});
  return s;
}

ConnectorModule::~ConnectorModule() { Stop(absl::ZeroDuration()); }

void ConnectorModule::Stop(absl::Duration grace) {
  if (dispatcher_) dispatcher_->Stop(grace);
}

}  // namespace dsar
