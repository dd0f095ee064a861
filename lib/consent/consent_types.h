// The consent module's value types: what a consent event, a receipt, a
// check's answer and a history page are. Shared by the ledger (the domain),
// its repository (consent_rows.h) and the state index.
#ifndef DSAR_LIB_CONSENT_CONSENT_TYPES_H_
#define DSAR_LIB_CONSENT_CONSENT_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "lib/core/subject_identifier.h"

namespace dsar::consent {

// Values match dsar.v1.LawfulBasis.
enum class LawfulBasis {
  kUnspecified = 0,
  kConsent = 1,
  kExplicitConsent = 2,
  kContract = 3,
  kLegalObligation = 4,
  kVitalInterests = 5,
  kPublicTask = 6,
  kLegitimateInterests = 7,
};
const char* LawfulBasisName(LawfulBasis basis);  // "consent", "contract", ...

enum class ConsentAction { kGiven = 1, kWithdrawn = 2 };
enum class ConsentState { kNone = 0, kGranted = 1, kWithdrawn = 2 };
// Stored as integers in consent_events (and matching the dsar.v1 enums):
// these values never change.
static_assert(static_cast<int>(LawfulBasis::kConsent) == 1);
static_assert(static_cast<int>(LawfulBasis::kExplicitConsent) == 2);
static_assert(static_cast<int>(LawfulBasis::kContract) == 3);
static_assert(static_cast<int>(LawfulBasis::kLegalObligation) == 4);
static_assert(static_cast<int>(LawfulBasis::kVitalInterests) == 5);
static_assert(static_cast<int>(LawfulBasis::kPublicTask) == 6);
static_assert(static_cast<int>(LawfulBasis::kLegitimateInterests) == 7);
static_assert(static_cast<int>(ConsentAction::kGiven) == 1);
static_assert(static_cast<int>(ConsentAction::kWithdrawn) == 2);
// The current state that an event leaves behind (the latest event of a
// subject and purpose is its state).
inline ConsentState StateAfter(ConsentAction action) {
  return action == ConsentAction::kWithdrawn ? ConsentState::kWithdrawn : ConsentState::kGranted;
}

struct RecordConsentInput {
  SubjectIdentifier subject;
  std::string purpose;
  std::string notice_version;
  std::string language;
  LawfulBasis lawful_basis = LawfulBasis::kUnspecified;
  std::string channel;
  std::optional<absl::Time> given_at;  // defaults to now
};

struct WithdrawConsentInput {
  SubjectIdentifier subject;
  std::string purpose;
  std::string channel;
  std::string reason;
};

// Where the propagation of one change of a consent to one system stands.
struct Propagation {
  std::string connector;
  ConsentAction action = ConsentAction::kGiven;
  std::string state;  // the connector task's state: "pending", "done", "no_match", ...
  std::string task_id;
  absl::Time updated;
};

struct ConsentReceipt {
  std::string receipt_id;
  std::string tenant;
  std::string subject_pseudonym;
  std::string purpose;
  std::string notice_version;
  std::string language;
  LawfulBasis lawful_basis = LawfulBasis::kUnspecified;
  std::string channel;
  std::string actor;
  absl::Time given_at;
  absl::Time recorded_at;
  std::optional<absl::Time> withdrawn_at;
  std::string withdrawal_channel;
  // GetReceipt only: per system and change, where its propagation stands.
  std::vector<Propagation> propagation;
};

struct ConsentEvent {
  int64_t seq = 0;
  std::string event_id;
  std::string receipt_id;
  std::string purpose;
  ConsentAction action = ConsentAction::kGiven;
  std::string notice_version;
  std::string language;
  LawfulBasis lawful_basis = LawfulBasis::kUnspecified;
  std::string channel;
  std::string actor;
  std::string reason;
  absl::Time occurred_at;
  absl::Time recorded_at;
};

struct ConsentCheck {
  ConsentState state = ConsentState::kNone;
  std::string receipt_id;
  std::string notice_version;
  std::string current_notice_version;
  bool reconsent_required = false;
  absl::Time changed_at;
};

struct ListEventsInput {
  SubjectIdentifier subject;
  std::string purpose;  // empty: all purposes
  int page_size = 0;    // 0: default 100
  std::string page_token;
};

struct EventPage {
  std::vector<ConsentEvent> events;
  std::string next_page_token;
};

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_CONSENT_TYPES_H_
