#include "lib/deadline/alert_acknowledgements.h"

#include <memory>
#include <string>

#include "lib/deadline/resource_names.h"

namespace dsar::deadline {

void AlertAcknowledgements::Acknowledge(const CallContext& ctx, absl::string_view alert_name,
                                        Done done) const {
  absl::StatusOr<std::string> alert_id = ParseAlertName(alert_name);
  if (!alert_id.ok()) {
    done(alert_id.status());
    return;
  }
  auto result = std::make_shared<absl::StatusOr<Alert>>(absl::UnknownError("not written"));
  const absl::Time now = clock_->Now();
  store_->Write(
      [result, ctx, id = *std::move(alert_id), now](store::WriteTxn& txn) {
        *result = AcknowledgeAlert(txn, ctx, id, now);
        return result->status();
      },
      [result, done = std::move(done)](absl::Status s) mutable {
        if (!s.ok()) {
          done(s);
          return;
        }
        done(std::move(*result));
      });
}

}  // namespace dsar::deadline
