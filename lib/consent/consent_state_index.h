// ConsentStateIndex: the current consent state of every (tenant, subject,
// purpose) in memory — the state its latest consent_events row left — so that
// CheckConsent (on the booking platform's and CRM's hot path) answers from
// memory instead of a database read, and RecordConsent writes no state table.
//
// Why it stays exact:
//   - Load() reads every event once, at start-up, before the server serves.
//   - Afterwards only after-commit hooks of the writes that add or anonymise
//     consent events call Put()/EraseSubject() (store::WriteTxn::AfterCommit):
//     they run on the store's writer thread right after the fsync'd COMMIT and
//     before that write's caller is answered, in commit order. So a
//     CheckConsent that starts after WithdrawConsent returned sees the
//     withdrawal, and the index never holds a change the database rolled back.
//
// Misses and a switched-off index fall back to an indexed read
// (consent_events_by_subject, which always exists): the schema does not
// depend on the index.
//
// Memory: about 88 bytes per (tenant, subject, purpose) plus the hash table's
// free slots — 95–190 MB per million states. Above `max_entries` (at load or
// later) the index switches itself off for good (until restart) and Find()
// answers kDisabled: callers read the database, as they would without it.
// Rows whose shape it cannot hold (a subject key that is not 32 bytes, a
// receipt id longer than 32 characters) also switch it off.
//
// Thread-safe: Find() from any thread; Put()/EraseSubject() from the writer.
#ifndef DSAR_LIB_CONSENT_CONSENT_STATE_INDEX_H_
#define DSAR_LIB_CONSENT_CONSENT_STATE_INDEX_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/consent/consent_types.h"
#include "lib/store/store.h"

namespace dsar::consent {

class ConsentStateIndex {
 public:
  struct Row {
    ConsentState state = ConsentState::kNone;
    std::string receipt_id;
    std::string notice_version;
    absl::Time changed_at;
    int64_t seq = 0;  // of the latest event
  };
  enum class Lookup { kFound, kAbsent, kDisabled };

  // An empty index (for a new database, and tests).
  explicit ConsentStateIndex(int64_t max_entries);
  // Reads every consent event in seq order (one read transaction).
  static absl::StatusOr<std::unique_ptr<ConsentStateIndex>> Load(store::Store& store,
                                                                 int64_t max_entries);

  // kFound fills `row`; kAbsent: no state recorded; kDisabled: ask the database.
  Lookup Find(absl::string_view tenant, absl::string_view subject_key, absl::string_view purpose,
              Row* row) const;
  void Put(absl::string_view tenant, absl::string_view subject_key, absl::string_view purpose,
           const Row& row);
  // True only when the index is on and holds no state of the subject under
  // any purpose of `tenant`: then that subject has no consent event at all
  // (every committed event leaves a state here, and erasure removes the
  // events' subject key together with the states), so a writer need not
  // look among its events. False when the index is off.
  bool HasNoStateOf(absl::string_view tenant, absl::string_view subject_key) const;
  // Removes the subject's state for every purpose of `tenant` (erasure).
  void EraseSubject(absl::string_view tenant, absl::string_view subject_key);

  bool enabled() const { return enabled_.load(std::memory_order_acquire); }
  int64_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  static constexpr int kShards = 16;
  static constexpr size_t kSubjectKeyBytes = 32;
  static constexpr size_t kMaxReceiptBytes = 32;

  struct Key {
    std::array<char, kSubjectKeyBytes> subject;
    uint32_t slot;  // (tenant, purpose), see slots_
    bool operator==(const Key& o) const { return slot == o.slot && subject == o.subject; }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      // Subject keys are HMAC outputs: uniformly random, not chosen by callers.
      uint64_t prefix;
      __builtin_memcpy(&prefix, k.subject.data(), sizeof prefix);
      return H::combine(std::move(h), prefix, k.slot);
    }
  };
  struct Value {
    std::array<char, kMaxReceiptBytes> receipt;
    std::array<char, 8> changed_at_us;  // int64, unaligned: keeps the slot at 88 bytes
    std::array<char, 8> seq;            // int64, unaligned
    uint16_t notice;                    // index into the slot's notice versions
    uint8_t state;
    uint8_t receipt_len;
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<Key, Value> map ABSL_GUARDED_BY(mu);
  };
  struct Slot {
    std::string tenant;
    std::vector<std::string> notices;
  };

  // Slot of (tenant, purpose); creates it when `create`. -1 when absent.
  int64_t SlotOf(absl::string_view tenant, absl::string_view purpose, bool create);
  int64_t FindSlot(absl::string_view tenant, absl::string_view purpose) const;
  uint16_t NoticeIndex(uint32_t slot, absl::string_view notice);
  // Put with the slot and notice index already known.
  void PutInSlot(uint32_t slot, absl::string_view subject_key, const Row& row, uint16_t notice);
  static bool MakeKey(absl::string_view subject_key, uint32_t slot, Key* key);
  Shard& ShardOf(const Key& key) const;
  void Disable(absl::string_view why);

  const int64_t max_entries_;
  std::atomic<bool> enabled_{true};
  std::atomic<int64_t> size_{0};
  mutable absl::Mutex slots_mu_;
  // tenant -> purpose -> slot; looked up with string_views, no allocation.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, uint32_t>> slot_ids_
      ABSL_GUARDED_BY(slots_mu_);
  std::vector<Slot> slots_ ABSL_GUARDED_BY(slots_mu_);
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace dsar::consent

#endif  // DSAR_LIB_CONSENT_CONSENT_STATE_INDEX_H_
