#include "services/privacy_request_stack.h"

namespace dsar {

absl::StatusOr<std::unique_ptr<PrivacyRequestStack>> PrivacyRequestStack::Create(
    const config::v1::DsardConfig& config, store::Store* store, Clock* clock,
    const deadline::Deadlines* deadlines, CallGate* gate,
    consent::ConsentStateIndex* consent_index) {
  std::unique_ptr<PrivacyRequestStack> s(new PrivacyRequestStack());
  auto keyer = consent::SubjectKeyer::FromKeyFile(config.subject_key_file());
  if (!keyer.ok()) return keyer.status();
  s->keyer_ = std::move(*keyer);
  s->catalog_ = std::make_unique<consent::PurposeCatalog>(config);
  requests::ModuleDeps deps;
  deps.store = store;
  deps.clock = clock;
  deps.deadlines = deadlines;
  deps.keyer = s->keyer_.get();
  deps.catalog = s->catalog_.get();
  deps.consent_index = consent_index;
  auto module = requests::RequestModule::Create(config, deps);
  if (!module.ok()) return module.status();
  s->module_ = std::move(*module);
  s->service_ = std::make_unique<PrivacyRequestServiceImpl>(gate, &s->module_->requests());
  return s;
}

PrivacyRequestStack::~PrivacyRequestStack() {
  if (module_) module_->Stop();
}

}  // namespace dsar
