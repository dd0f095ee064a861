#include "services/connectors.h"

#include "lib/connector/grpc_connector_client.h"
#include "lib/core/log.h"

namespace dsar {

absl::StatusOr<std::unique_ptr<ConnectorStack>> ConnectorStack::Start(
    const config::v1::DsardConfig& config, store::Store* store, Clock* clock,
    ConnectorAdmitFn admit, ConnectorStartFn start, ConnectorHooks hooks) {
  std::unique_ptr<ConnectorStack> s(new ConnectorStack());
  s->registry_ = std::make_unique<connector::ConnectorRegistry>(
      connector::ConnectorRegistry::FromConfig(config));
  const std::string& key_file = config.outbox().payload_key_file().empty()
                                    ? config.subject_key_file()
                                    : config.outbox().payload_key_file();
  auto sealer = connector::PayloadSealer::FromSecretFile(key_file);
  if (!sealer.ok()) return sealer.status();
  s->sealer_ = std::move(*sealer);
  s->outbox_ = std::make_unique<connector::Outbox>(s->registry_.get(), s->sealer_.get());

  connector::DispatcherDeps deps;
  deps.store = store;
  deps.clock = clock;
  deps.outbox = s->outbox_.get();
  deps.sealer = s->sealer_.get();
  for (const auto& c : s->registry_->connectors()) {
    auto client = connector::NewGrpcConnectorClient(c.endpoint);
    if (!client.ok()) return client.status();
    deps.clients[c.name] = client->get();
    s->clients_.push_back(std::move(*client));
  }
  s->random_ = std::make_unique<connector::DefaultRandomSource>();
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
  s->admin_ = std::make_unique<connector::ConnectorAdmin>(store, clock, s->registry_.get(),
                                                          s->dispatcher_.get());
  s->service_ =
      std::make_unique<ConnectorServiceImpl>(std::move(admit), std::move(start), s->admin_.get());
  log::Info("connectors_started", {{"connectors", static_cast<int>(s->clients_.size())},
                                   {"owner", s->dispatcher_->owner()}});
  return s;
}

ConnectorStack::~ConnectorStack() { Stop(absl::ZeroDuration()); }

void ConnectorStack::Stop(absl::Duration grace) {
  if (dispatcher_) dispatcher_->Stop(grace);
}

}  // namespace dsar
