// AlertSink: somewhere a fired alert is delivered (log, webhook).
//
// Deliveries come from the forwarder's outbox (AlertForwarder), at least once
// per alert and sink; the alert id lets a receiver drop repeats. A sink is
// called by one forwarder thread at a time.
#ifndef DSAR_LIB_DEADLINE_ALERT_SINK_H_
#define DSAR_LIB_DEADLINE_ALERT_SINK_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "lib/core/log.h"

namespace dsar::deadline {

struct AlertDelivery {
  int64_t seq = 0;
  std::string alert_id;
  std::string tenant;
  std::string deadline_id;
  std::string kind;
  int64_t offset_seconds = 0;  // level relative to due
  std::string payload;         // JSON body (empty unless the sink needs_payload)
  int attempt = 1;             // 1 for the first try
};

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  // Stable name, stored with each pending delivery ("log", "webhook:oncall").
  virtual const std::string& name() const = 0;
  // OK when delivered. INVALID_ARGUMENT when the receiver rejected this alert
  // for good (it is not retried); any other error is retried with backoff.
  virtual absl::Status Deliver(const AlertDelivery& delivery) = 0;
  // Deliveries the forwarder reads per pass and records per write
  // transaction. A sink that is slow per alert keeps it small, so a crash
  // repeats little; a cheap one takes many, so a burst costs few transactions.
  virtual int max_batch() const { return 100; }
  // Whether Deliver reads AlertDelivery::payload (otherwise it is left empty).
  virtual bool needs_payload() const { return true; }
  // Called after a pass's Deliver calls, before their outcomes are recorded: a
  // sink that buffers what Deliver accepted writes it out here.
  virtual void Flush() {}
};

// Writes each alert as one structured log line ("deadline_alert"); the lines
// of a pass go out with one write (log::Batch) at Flush().
class LogSink final : public AlertSink {
 public:
  const std::string& name() const override { return name_; }
  absl::Status Deliver(const AlertDelivery& delivery) override;
  int max_batch() const override { return 4096; }
  bool needs_payload() const override { return false; }
  void Flush() override { lines_.Flush(); }

 private:
  const std::string name_ = "log";
  log::Batch lines_;
};

}  // namespace dsar::deadline

#endif  // DSAR_LIB_DEADLINE_ALERT_SINK_H_
