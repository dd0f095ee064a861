#include "services/dsard.h"

#include "absl/strings/str_cat.h"
#include "lib/audit/audit_anchor.h"
#include "lib/audit/chain_verifier.h"
#include "lib/audit/refusal_recorder.h"
#include "lib/breach/breach_register.h"
#include "lib/connector/payload.h"
#include "lib/connector/registry.h"
#include "lib/consent/consent_ledger.h"
#include "lib/consent/consent_state_index.h"
#include "lib/consent/purpose_catalog.h"
#include "lib/consent/receipt_name.h"
#include "lib/consent/subject_keyer.h"
#include "lib/consent/subject_rekey.h"
#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/memory.h"
#include "lib/deadline/alert_acknowledgements.h"
#include "lib/deadline/deadline_module.h"
#include "lib/deadline/deadline_queries.h"
#include "lib/delivery/outbound_url.h"
#include "lib/privacy_requests/privacy_requests_module.h"
#include "lib/privacy_requests/request.h"
#include "lib/store/idempotency_sweeper.h"
#include "lib/store/store.h"
#include "lib/workflow/consent_propagation.h"
#include "lib/workflow/dead_letter_deadlines.h"
#include "lib/workflow/task_outcome_router.h"
#include "services/audit_service.h"
#include "services/breach_service.h"
#include "services/call_gate.h"
#include "services/connector_module.h"
#include "services/consent_service.h"
#include "services/deadline_service.h"
#include "services/grpc_server.h"
#include "services/ops_module.h"
#include "services/privacy_request_service.h"

namespace dsar {

absl::StatusOr<std::unique_ptr<Dsard>> Dsard::Start(const config::v1::DsardConfig& config,
                                                    Clock* clock) {
  if (clock == nullptr) clock = SystemClock::Default();
  std::unique_ptr<Dsard> d(new Dsard());
  d->config_ = config;

  store::StoreOptions store_options;
  store_options.path = config.database_path();
  store_options.read_pool_size = config.read_pool_size();
  store_options.read_mmap_bytes = int64_t{config.read_mmap_mib()} << 20;
  if (config.read_acquire_timeout_ms() > 0) {
    store_options.read_acquire_timeout = absl::Milliseconds(config.read_acquire_timeout_ms());
  }
  store_options.max_group_size = config.writer().max_group_size();
  store_options.max_queue_depth = config.writer().max_queue_depth();
  auto store = store::Store::Open(store_options);
  if (!store.ok()) return store.status();
  d->store_ = std::move(*store);
  log::Info("store_opened", {{"schema_version", d->store_->schema_version()}});
  // The deadline engine comes first: other modules schedule deadlines through
  // d->deadline_module_->deadlines() inside their own transactions.
  auto outbound = delivery::OutboundPolicy::Create(
      {config.outbound().allowed_cidrs().begin(), config.outbound().allowed_cidrs().end()});
  if (!outbound.ok()) return outbound.status();
  auto deadline_module =
      deadline::DeadlineModule::Create(config.deadline(), d->store_.get(), clock, *outbound);
  if (!deadline_module.ok()) return deadline_module.status();
  d->deadline_module_ = std::move(*deadline_module);

  GrpcServerOptions server_options;
  server_options.listen_address = config.listen_address();
  server_options.max_message_bytes = config.max_message_bytes();
  ApplyServerConfig(config.server(), &server_options);
  if (config.has_tls()) {
    auto credentials = TlsServerCredentialsFromConfig(config.tls());
    if (!credentials.ok()) return credentials.status();
    server_options.credentials = std::move(*credentials);
  }
  if (config.insecure_loopback()) {
    log::Warn("insecure_loopback_mode",
              {{"detail",
                "serving plaintext without authentication on a loopback address; "
                "for demos and tests only"}});
  }
  audit::RefusalRecorderOptions refusal_options;
  if (config.limits().refusal_audit_window_seconds() > 0) {
    refusal_options.window = absl::Seconds(config.limits().refusal_audit_window_seconds());
  }
  if (config.limits().refusal_audit_max_keys() > 0) {
    refusal_options.max_keys = config.limits().refusal_audit_max_keys();
  }
  d->refusals_ = std::make_unique<audit::RefusalRecorder>(d->store_.get(), clock, refusal_options);
  d->refusals_->Start();
  d->call_gate_ = std::make_unique<CallGate>(config, d->refusals_.get(), clock);
  d->chain_verifier_ = std::make_unique<audit::ChainVerifier>(d->store_.get());
  d->audit_service_ = std::make_unique<AuditServiceImpl>(d->call_gate_.get(), d->store_.get(),
                                                         d->chain_verifier_.get());
  std::vector<grpc::Service*> services = {d->audit_service_.get()};
  auto ops = OpsModule::Create(config, d->store_.get(), d->call_gate_.get(), clock);
  if (!ops.ok()) return ops.status();
  d->ops_ = std::move(*ops);
  services.push_back(d->ops_->admin_service());
  d->call_gate_->set_metrics(&d->ops_->request_metrics());
  d->task_router_ = std::make_unique<workflow::TaskOutcomeRouter>();
  // Dead-lettered tasks open a deadline (an alert); it closes when the task finishes.
  d->dead_letter_deadlines_ =
      std::make_unique<workflow::DeadLetterDeadlines>(&d->deadline_module_->deadlines());
  d->task_router_->RegisterForAllDeadLetters(d->dead_letter_deadlines_.get());
  d->task_router_->RegisterForAllResults(d->dead_letter_deadlines_.get());
  // Consent changes propagate to the connectors declaring the purpose.
  d->consent_propagation_ =
      std::make_unique<workflow::ConsentPropagation>(&d->deadline_module_->deadlines());
  if (config.tenants_size() > 0) {
    std::vector<std::string> tenants;
    for (const auto& t : config.tenants()) tenants.push_back(t.id());
    auto keyer = consent::SubjectKeyer::FromKeyFile(config.subject_key_file(), tenants);
    if (!keyer.ok()) return keyer.status();
    d->subject_keyer_ = std::move(*keyer);
    d->purpose_catalog_ = std::make_unique<consent::PurposeCatalog>(config);
    // Consent events stored before typed subjects: re-keyed as customer ids,
    // once, before the state index reads them (lib/consent/subject_rekey.h).
    auto rekeyed = consent::RekeyConsentSubjects(*d->store_, *d->subject_keyer_);
    if (!rekeyed.ok()) return rekeyed.status();
  }
  // CheckConsent answers from memory: the states are read from the events before the
  // server serves; erasures and consent writes keep it current as they commit.
  if (config.tenants_size() > 0 && config.consent_index_max_entries() > 0) {
    const absl::Time started = absl::Now();
    auto index = consent::ConsentStateIndex::Load(*d->store_, config.consent_index_max_entries());
    if (!index.ok()) return index.status();
    d->consent_index_ = std::move(*index);
    d->ops_->set_consent_index(d->consent_index_.get());
    // The tables the index outgrew while loading are free now: give them back.
    ReleaseFreeMemoryToSystem();
    log::Info("consent_index_loaded", {{"states", d->consent_index_->size()},
                                       {"enabled", d->consent_index_->enabled()},
                                       {"ms", absl::ToInt64Milliseconds(absl::Now() - started)}});
  }
  // Data-subject requests: created before the connector stack, whose
  // dispatcher reports their tasks' outcomes and streams their exports.
  // The connector register and the sealer serve both the connector module
  // and the privacy requests: built once. The sealer uses the same secret as
  // the subject keys unless the outbox names its own, so one key file protects
  // every identifier at rest; the associated data keeps the uses apart.
  if (config.tenants_size() > 0 || config.connectors_size() > 0) {
    d->connector_registry_ = std::make_unique<connector::ConnectorRegistry>(
        connector::ConnectorRegistry::FromConfig(config));
    const std::string& payload_key = config.outbox().payload_key_file().empty()
                                         ? config.subject_key_file()
                                         : config.outbox().payload_key_file();
    auto sealer = connector::PayloadSealer::FromSecretFile(payload_key);
    if (!sealer.ok()) return sealer.status();
    d->payload_sealer_ = std::move(*sealer);
  }
  if (config.tenants_size() > 0) {
    privacy_requests::ModuleDeps deps;
    deps.store = d->store_.get();
    deps.clock = clock;
    deps.deadlines = &d->deadline_module_->deadlines();
    deps.keyer = d->subject_keyer_.get();
    deps.catalog = d->purpose_catalog_.get();
    deps.consent_index = d->consent_index_.get();
    deps.registry = d->connector_registry_.get();
    deps.sealer = d->payload_sealer_.get();
    auto privacy_requests = privacy_requests::PrivacyRequestsModule::Create(config, deps);
    if (!privacy_requests.ok()) return privacy_requests.status();
    d->privacy_requests_ = std::move(*privacy_requests);
    d->privacy_request_service_ = std::make_unique<PrivacyRequestServiceImpl>(
        d->call_gate_.get(), &d->privacy_requests_->requests());
    d->task_router_->Register(privacy_requests::kPrivacyRequestsCollection,
                              &d->privacy_requests_->hooks(), &d->privacy_requests_->hooks());
  }
  if (config.connectors_size() > 0) {
    // Admission for ConnectorService through the CallGate (swap for
    // services/call_context.h once it lands).
    ConnectorAdmitFn admit = [gate = d->call_gate_.get()](
                                 grpc::CallbackServerContext* context, absl::string_view method,
                                 absl::string_view request_id) -> absl::StatusOr<ConnectorCall> {
      auto admitted = gate->Admit(*context, method, request_id);
      if (!admitted.ok()) return admitted.status();
      return ConnectorCall{std::move(admitted->ctx), std::move(admitted->slot)};
    };
    // Task outcomes go to the module whose job each task serves. Routes are
    // registered before the dispatcher starts; their targets are created
    // below, before the server accepts calls.
    d->task_router_->Register(consent::kConsentsCollection, d->consent_propagation_.get(), nullptr);
    ConnectorHooks hooks;
    hooks.results = d->task_router_.get();
    hooks.dead_letters = d->task_router_.get();
    if (d->privacy_requests_) hooks.exports = &d->privacy_requests_->sinks();
    auto connectors = ConnectorModule::Start(
        config, d->store_.get(), clock, d->connector_registry_.get(), d->payload_sealer_.get(),
        std::move(admit),
        [gate = d->call_gate_.get()](absl::string_view method) { return gate->StartCall(method); },
        hooks);
    if (!connectors.ok()) return connectors.status();
    d->connectors_ = std::move(*connectors);
    services.push_back(d->connectors_->service());
  }
  if (d->connectors_) d->consent_propagation_->set_outbox(&d->connectors_->outbox());
  if (d->privacy_requests_) {
    if (d->connectors_) d->privacy_requests_->AttachOutbox(&d->connectors_->outbox());
    services.push_back(d->privacy_request_service_.get());
  }
  if (config.tenants_size() > 0) {
    d->consent_ledger_ = std::make_unique<consent::ConsentLedger>(
        d->store_.get(), clock, d->subject_keyer_.get(), d->purpose_catalog_.get(),
        d->consent_propagation_.get(), d->consent_index_.get());
    d->consent_service_ = std::make_unique<ConsentServiceImpl>(
        d->call_gate_.get(), d->consent_ledger_.get(), d->purpose_catalog_.get());
    services.push_back(d->consent_service_.get());
  }
  // Deadlines (an all-tenants SLA report) and breaches span tenants: both
  // know the configured tenant ids.
  std::vector<std::string> tenant_ids;
  breach::BreachClockOptions breach_clocks;
  for (const auto& t : config.tenants()) {
    tenant_ids.push_back(t.id());
    breach::TenantClockOptions& o = breach_clocks.tenants[t.id()];
    if (t.breach_subject_communication_hours() > 0) {
      o.subject_communication = absl::Hours(t.breach_subject_communication_hours());
    }
    o.authority_from_processor_awareness = t.breach_authority_clock_from_processor_awareness();
  }
  d->deadline_queries_ = std::make_unique<deadline::DeadlineQueries>(
      d->store_.get(), clock, &d->deadline_module_->deadlines(), tenant_ids);
  d->alert_acknowledgements_ =
      std::make_unique<deadline::AlertAcknowledgements>(d->store_.get(), clock);
  d->deadline_service_ = std::make_unique<DeadlineServiceImpl>(
      d->call_gate_.get(), d->deadline_queries_.get(), d->alert_acknowledgements_.get(),
      &d->deadline_module_->feed());
  services.push_back(d->deadline_service_.get());
  d->breach_register_ = std::make_unique<breach::BreachRegister>(
      d->store_.get(), clock, &d->deadline_module_->deadlines(), std::move(tenant_ids),
      std::move(breach_clocks));
  d->breach_service_ =
      std::make_unique<BreachServiceImpl>(d->call_gate_.get(), d->breach_register_.get());
  services.push_back(d->breach_service_.get());
  auto server = GrpcServer::Start(server_options, services);
  if (!server.ok()) return server.status();
  d->server_ = std::move(*server);
  log::Info("server_listening", {{"address", d->server_->address()}, {"port", d->server_->port()}});
  // Backups and the admin (metrics) endpoint.
  if (absl::Status s = d->ops_->Start(); !s.ok()) return s;
  // Catches up on alerts that came due while dsard was down, then follows the clock.
  d->deadline_module_->Start();
  // Builds bundles, finishes erasures, expires exports, sends status callbacks.
  if (d->privacy_requests_) d->privacy_requests_->Start();
  d->audit_anchor_ = std::make_unique<audit::AuditAnchor>(
      d->store_.get(), absl::Seconds(config.audit_anchor_interval_seconds()));
  d->audit_anchor_->Start();
  // Forgets request_ids older than the retention (30 days unless configured).
  const int retention_days =
      config.idempotency_retention_days() > 0 ? config.idempotency_retention_days() : 30;
  d->idempotency_sweeper_ = std::make_unique<store::IdempotencyKeySweeper>(
      d->store_.get(), clock, absl::Hours(24) * retention_days);
  d->idempotency_sweeper_->Start();
  return d;
}

Dsard::~Dsard() { Shutdown(); }

absl::Status Dsard::Reload(const config::v1::DsardConfig& fresh) {
  if (fresh.has_tls()) {
    auto checked = TlsServerCredentialsFromConfig(fresh.tls());
    if (!checked.ok()) return checked.status();
  }
  // What a reload cannot change: the listener and its credentials' files,
  // the database, tenants and every module's wiring.
  config::v1::DsardConfig fixed_old = config_;
  config::v1::DsardConfig fixed_new = fresh;
  for (auto* c : {&fixed_old, &fixed_new}) {
    c->clear_principals();
    c->mutable_tls()->set_refresh_interval_seconds(0);
  }
  const bool needs_restart = fixed_old.SerializeAsString() != fixed_new.SerializeAsString();
  const int principals = call_gate_->ReloadPrincipals(fresh);
  *config_.mutable_principals() = fresh.principals();
  log::Info("config_reloaded", {{"principals", principals},
                                {"tls", config_.has_tls() ? "watched" : "none"},
                                {"restart_needed_for_other_changes", needs_restart}});
  return absl::OkStatus();
}

int Dsard::port() const { return server_ ? server_->port() : 0; }

void Dsard::Shutdown() {
  if (server_) {
    log::Info("shutdown_started", {{"grace_ms", config_.shutdown_grace_ms()}});
    // WatchAlerts streams end now (UNAVAILABLE: reconnect) instead of after the grace.
    if (deadline_module_) deadline_module_->feed().Close();
    server_->Shutdown(absl::Milliseconds(config_.shutdown_grace_ms()));
    server_.reset();
  }
  // No call is refused any more: the last window's refusals go to the log.
  if (refusals_) refusals_->Stop();
  if (chain_verifier_) chain_verifier_->Stop();
  // The admin endpoint and backups read the store: stop them before it closes.
  if (ops_) ops_->Stop();
  if (connectors_) {
    connectors_->Stop(absl::Milliseconds(config_.shutdown_grace_ms()));
    // The request worker enqueues into the outbox: stop it before the
    // outbox goes (the dispatcher, stopped above, no longer calls its hooks).
    if (privacy_requests_) privacy_requests_->Stop();
    connectors_.reset();
  }
  if (privacy_requests_) {
    privacy_requests_->Stop();
    privacy_request_service_.reset();
    privacy_requests_.reset();
  }
  if (deadline_module_) {
    deadline_module_->Stop();
    deadline_service_.reset();
    alert_acknowledgements_.reset();
    deadline_queries_.reset();
    breach_service_.reset();
    breach_register_.reset();
    deadline_module_.reset();
  }
  if (idempotency_sweeper_) idempotency_sweeper_->Stop();
  // Last anchor: the head after every call and task has finished.
  if (audit_anchor_) audit_anchor_->Stop();
  if (store_) {
    store_->Close();
    auto stats = store_->writer_stats();
    log::Info("store_closed", {{"writes_committed", stats.writes_committed},
                               {"groups_committed", stats.groups_committed}});
    store_.reset();
  }
}

}  // namespace dsar
