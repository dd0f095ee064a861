#include "lib/core/errors.h"

#include "google/rpc/error_details.pb.h"

namespace dsar {
namespace {

constexpr char kTypePrefix[] = "type.googleapis.com/";

template <typename Msg>
std::string TypeUrl() {
  return std::string(kTypePrefix) + Msg::descriptor()->full_name();
}

template <typename Msg>
void Attach(absl::Status& status, const Msg& msg) {
  status.SetPayload(TypeUrl<Msg>(), absl::Cord(msg.SerializeAsString()));
}

template <typename Msg>
bool Read(const absl::Status& status, Msg* msg) {
  auto payload = status.GetPayload(TypeUrl<Msg>());
  return payload.has_value() && msg->ParseFromString(std::string(*payload));
}

}  // namespace

absl::Status FieldErrors::ToStatus(absl::string_view message) const {
  if (violations_.empty()) return absl::OkStatus();
  return InvalidArgumentWithFields(message, violations_);
}

absl::Status InvalidArgumentWithFields(absl::string_view message,
                                       const std::vector<FieldViolation>& violations) {
  std::string text(message);
  google::rpc::BadRequest detail;
  for (const auto& v : violations) {
    auto* fv = detail.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
    text += (fv == detail.mutable_field_violations(0) ? ": " : "; ");
    text += v.field + ": " + v.description;
  }
  absl::Status status = absl::InvalidArgumentError(text);
  Attach(status, detail);
  return status;
}

absl::Status InvalidField(absl::string_view field, absl::string_view description) {
  return InvalidArgumentWithFields("invalid request",
                                   {{std::string(field), std::string(description)}});
}

absl::Status FailedPreconditionWithViolations(
    absl::string_view message, const std::vector<PreconditionViolation>& violations) {
  std::string text(message);
  google::rpc::PreconditionFailure detail;
  for (const auto& v : violations) {
    auto* pv = detail.add_violations();
    pv->set_type(v.type);
    pv->set_subject(v.subject);
    pv->set_description(v.description);
    text += (detail.violations_size() == 1 ? ": " : "; ");
    text += v.description;
  }
  absl::Status status = absl::FailedPreconditionError(text);
  Attach(status, detail);
  return status;
}

absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kErrorDomain));
  for (const auto& [k, v] : metadata) (*info.mutable_metadata())[k] = v;
  Attach(status, info);
  return status;
}

std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status) {
  std::vector<FieldViolation> out;
  google::rpc::BadRequest detail;
  if (!Read(status, &detail)) return out;
  for (const auto& fv : detail.field_violations()) out.push_back({fv.field(), fv.description()});
  return out;
}

std::vector<PreconditionViolation> PreconditionViolationsOf(const absl::Status& status) {
  std::vector<PreconditionViolation> out;
  google::rpc::PreconditionFailure detail;
  if (!Read(status, &detail)) return out;
  for (const auto& v : detail.violations()) out.push_back({v.type(), v.subject(), v.description()});
  return out;
}

std::string ErrorReasonOf(const absl::Status& status) {
  google::rpc::ErrorInfo info;
  return Read(status, &info) ? info.reason() : std::string();
}

}  // namespace dsar
