// Deterministic synthetic people for the reference backends.
//
// Every field is obviously fake: "Person 0001", "person-0001@example.invalid",
// "+46700000001", customer "cust-0001". The same (seed, index) gives the same
// person in every backend, so a booking system and a CRM seeded alike hold the
// same subjects and one privacy request finds data in both. Other values
// (regions, amounts, dates) come from a seeded mt19937_64 using raw draws only,
// so they are identical on every platform. Stateless and thread-safe.
#ifndef DSAR_TOOLS_REFBACKEND_SYNTHETIC_H_
#define DSAR_TOOLS_REFBACKEND_SYNTHETIC_H_

#include <cstdint>
#include <random>
#include <string>

namespace dsar::refbackend {

struct SyntheticPerson {
  int index = 0;            // 1-based
  std::string name;         // "Person 0001"
  std::string email;        // "person-0001@example.invalid"
  std::string phone;        // "+46700000001"
  std::string customer_id;  // "cust-0001"
  std::string region;       // one of kRegions
  int64_t created_at_us = 0;
  int64_t relationship_ended_at_us = 0;  // 0: still a customer
  bool legal_hold = false;               // every 50th person
  bool marketing_consent = false;
};

// Identity of person `index` (1-based); no randomness involved.
std::string SyntheticName(int index);
std::string SyntheticEmail(int index);
std::string SyntheticPhone(int index);
std::string SyntheticCustomerId(int index);

// Seeded random source with portable helpers (no std distributions).
class SyntheticRandom {
 public:
  explicit SyntheticRandom(uint64_t seed) : engine_(seed) {}
  // Uniform in [0, n) for n > 0 (modulo bias is irrelevant here).
  uint64_t Below(uint64_t n) { return engine_() % n; }
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }

 private:
  std::mt19937_64 engine_;
};

// Person `index` drawn from `rng` (identity fields do not depend on it).
SyntheticPerson MakePerson(int index, SyntheticRandom& rng);

inline constexpr const char* kRegions[] = {"north", "south", "east", "west", "central"};

// 2024-01-01T00:00:00Z, the start of the synthetic calendar.
inline constexpr int64_t kEpochUs = int64_t{1704067200} * 1000000;
inline constexpr int64_t kDayUs = int64_t{86400} * 1000000;

// "YYYY-MM-DD" of a time in microseconds since the Unix epoch (UTC).
std::string DateOf(int64_t time_us);

}  // namespace dsar::refbackend

#endif  // DSAR_TOOLS_REFBACKEND_SYNTHETIC_H_
