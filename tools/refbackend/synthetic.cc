#include "tools/refbackend/synthetic.h"

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace dsar::refbackend {

std::string SyntheticName(int index) { return absl::StrFormat("Person %04d", index); }
std::string SyntheticEmail(int index) {
  return absl::StrFormat("person-%04d@example.invalid", index);
}
std::string SyntheticPhone(int index) { return absl::StrFormat("+467%08d", index); }
std::string SyntheticCustomerId(int index) { return absl::StrFormat("cust-%04d", index); }

SyntheticPerson MakePerson(int index, SyntheticRandom& rng) {
  SyntheticPerson p;
  p.index = index;
  p.name = SyntheticName(index);
  p.email = SyntheticEmail(index);
  p.phone = SyntheticPhone(index);
  p.customer_id = SyntheticCustomerId(index);
  p.region = kRegions[rng.Below(5)];
  p.created_at_us = kEpochUs + rng.Between(0, 365) * kDayUs;
  // About one in five relationships has ended, some of them long ago.
  if (rng.Below(5) == 0) {
    p.relationship_ended_at_us = kEpochUs + rng.Between(-400, 700) * kDayUs;
  }
  p.legal_hold = index % 50 == 0;
  p.marketing_consent = rng.Below(2) == 0;
  return p;
}

std::string DateOf(int64_t time_us) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixMicros(time_us), absl::UTCTimeZone());
}

}  // namespace dsar::refbackend
