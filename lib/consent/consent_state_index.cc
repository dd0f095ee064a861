#include "lib/consent/consent_state_index.h"

#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "lib/consent/consent_rows.h"
#include "lib/core/log.h"

namespace dsar::consent {
ConsentStateIndex::ConsentStateIndex(int64_t max_entries)
    : max_entries_(max_entries), shards_(new Shard[kShards]) {}

absl::StatusOr<std::unique_ptr<ConsentStateIndex>> ConsentStateIndex::Load(store::Store& store,
                                                                           int64_t max_entries) {
  auto index = std::make_unique<ConsentStateIndex>(max_entries);
  absl::Status read = store.Read([&](store::ReadTxn& txn) -> absl::Status {
    // Every event in commit order: the last one of each (tenant, subject,
    // purpose) is its current state, so later events overwrite earlier ones.
    // Rows share a few (tenant, purpose) pairs and notice versions: look
    // those up under the index's lock only the first time each is seen.
    struct Seen {
      std::string tenant, purpose, notice;
      uint32_t slot;
      uint16_t notice_index;
    };
    std::vector<Seen> seen;
    Row row;
    rows::ForEachEvent(txn, [&](const rows::StoredEvent& e) {
      const Seen* known = nullptr;
      for (const Seen& s : seen) {
        if (s.tenant == e.tenant && s.purpose == e.purpose && s.notice == e.notice_version) {
          known = &s;
        }
      }
      Seen looked_up;
      if (known == nullptr) {
        const auto slot = static_cast<uint32_t>(index->SlotOf(e.tenant, e.purpose, true));
        looked_up =
            Seen{std::string(e.tenant), std::string(e.purpose), std::string(e.notice_version), slot,
                 index->NoticeIndex(slot, e.notice_version)};
        known = &looked_up;
        if (seen.size() < 64) {  // keep the scan above short
          seen.push_back(std::move(looked_up));
          known = &seen.back();
        }
      }
      row.state = StateAfter(e.action);
      row.receipt_id = std::string(e.receipt_id);
      row.changed_at = absl::FromUnixMicros(e.recorded_at_us);
      row.seq = e.seq;
      index->PutInSlot(known->slot, e.subject_key, row, known->notice_index);
      return index->enabled();
    });
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  return index;
}

int64_t ConsentStateIndex::FindSlot(absl::string_view tenant, absl::string_view purpose) const {
  absl::ReaderMutexLock lock(&slots_mu_);
  auto by_tenant = slot_ids_.find(tenant);
  if (by_tenant == slot_ids_.end()) return -1;
  auto it = by_tenant->second.find(purpose);
  return it == by_tenant->second.end() ? int64_t{-1} : static_cast<int64_t>(it->second);
}

int64_t ConsentStateIndex::SlotOf(absl::string_view tenant, absl::string_view purpose,
                                  bool create) {
  if (int64_t slot = FindSlot(tenant, purpose); slot >= 0 || !create) return slot;
  absl::MutexLock lock(&slots_mu_);
  auto [it, inserted] =
      slot_ids_[tenant].try_emplace(purpose, static_cast<uint32_t>(slots_.size()));
  if (inserted) slots_.push_back(Slot{std::string(tenant), {}});
  return it->second;
}

uint16_t ConsentStateIndex::NoticeIndex(uint32_t slot, absl::string_view notice) {
  {
    absl::ReaderMutexLock lock(&slots_mu_);
    const auto& notices = slots_[slot].notices;
    for (size_t i = 0; i < notices.size(); ++i) {
      if (notices[i] == notice) return static_cast<uint16_t>(i);
    }
  }
  absl::MutexLock lock(&slots_mu_);
  auto& notices = slots_[slot].notices;
  for (size_t i = 0; i < notices.size(); ++i) {
    if (notices[i] == notice) return static_cast<uint16_t>(i);
  }
  if (notices.size() > UINT16_MAX) return UINT16_MAX;  // caller disables the index
  notices.emplace_back(notice);
  return static_cast<uint16_t>(notices.size() - 1);
}

bool ConsentStateIndex::MakeKey(absl::string_view subject_key, uint32_t slot, Key* key) {
  if (subject_key.size() != kSubjectKeyBytes) return false;
  std::memcpy(key->subject.data(), subject_key.data(), kSubjectKeyBytes);
  key->slot = slot;
  return true;
}

ConsentStateIndex::Shard& ConsentStateIndex::ShardOf(const Key& key) const {
  return shards_[static_cast<unsigned char>(key.subject[8]) % kShards];
}

void ConsentStateIndex::Disable(absl::string_view why) {
  if (!enabled_.exchange(false)) return;
  for (int i = 0; i < kShards; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    shards_[i].map = {};
  }
  size_.store(0);
  log::Warn("consent_state_index_off", {{"reason", std::string(why)}});
}

ConsentStateIndex::Lookup ConsentStateIndex::Find(absl::string_view tenant,
                                                  absl::string_view subject_key,
                                                  absl::string_view purpose, Row* row) const {
  if (!enabled()) return Lookup::kDisabled;
  const int64_t slot = FindSlot(tenant, purpose);
  if (slot < 0) return Lookup::kAbsent;
  Key key;
  if (!MakeKey(subject_key, static_cast<uint32_t>(slot), &key)) return Lookup::kDisabled;
  Value value;
  {
    Shard& shard = ShardOf(key);
    absl::ReaderMutexLock lock(&shard.mu);
    // Checked under the shard lock: Disable() clears the shards after
    // clearing the flag, so an empty map here may mean "switched off".
    if (!enabled()) return Lookup::kDisabled;
    auto it = shard.map.find(key);
    if (it == shard.map.end()) return Lookup::kAbsent;
    value = it->second;
  }
  int64_t changed_at_us;
  std::memcpy(&changed_at_us, value.changed_at_us.data(), sizeof changed_at_us);
  row->state = static_cast<ConsentState>(value.state);
  row->receipt_id.assign(value.receipt.data(), value.receipt_len);
  row->changed_at = absl::FromUnixMicros(changed_at_us);
  std::memcpy(&row->seq, value.seq.data(), sizeof row->seq);
  absl::ReaderMutexLock lock(&slots_mu_);
  row->notice_version = slots_[slot].notices[value.notice];
  return Lookup::kFound;
}

bool ConsentStateIndex::HasNoStateOf(absl::string_view tenant,
                                     absl::string_view subject_key) const {
  if (!enabled()) return false;
  absl::InlinedVector<uint32_t, 8> tenant_slots;  // a handful of purposes
  {
    absl::ReaderMutexLock lock(&slots_mu_);
    auto by_tenant = slot_ids_.find(tenant);
    if (by_tenant != slot_ids_.end()) {
      for (const auto& [purpose, slot] : by_tenant->second) tenant_slots.push_back(slot);
    }
  }
  for (uint32_t slot : tenant_slots) {
    Key key;
    if (!MakeKey(subject_key, slot, &key)) return false;  // a key it cannot hold: look
    const Shard& shard = ShardOf(key);
    absl::ReaderMutexLock lock(&shard.mu);
    if (shard.map.contains(key)) return false;
  }
  // Checked last: Disable() clears the flag before it empties the shards.
  return enabled();
}

void ConsentStateIndex::Put(absl::string_view tenant, absl::string_view subject_key,
                            absl::string_view purpose, const Row& row) {
  if (!enabled()) return;
  const auto slot = static_cast<uint32_t>(SlotOf(tenant, purpose, /*create=*/true));
  PutInSlot(slot, subject_key, row, NoticeIndex(slot, row.notice_version));
}

void ConsentStateIndex::PutInSlot(uint32_t slot, absl::string_view subject_key, const Row& row,
                                  uint16_t notice) {
  if (!enabled()) return;
  Key key;
  if (!MakeKey(subject_key, slot, &key)) return Disable("subject key of unexpected length");
  if (row.receipt_id.size() > kMaxReceiptBytes) return Disable("receipt id too long");
  if (notice == UINT16_MAX) return Disable("too many notice versions");
  Value value;
  std::memcpy(value.receipt.data(), row.receipt_id.data(), row.receipt_id.size());
  value.receipt_len = static_cast<uint8_t>(row.receipt_id.size());
  const int64_t changed_at_us = absl::ToUnixMicros(row.changed_at);
  std::memcpy(value.changed_at_us.data(), &changed_at_us, sizeof changed_at_us);
  std::memcpy(value.seq.data(), &row.seq, sizeof row.seq);
  value.notice = notice;
  value.state = static_cast<uint8_t>(row.state);
  bool inserted;
  {
    Shard& shard = ShardOf(key);
    absl::MutexLock lock(&shard.mu);
    auto [it, fresh] = shard.map.insert_or_assign(key, value);
    inserted = fresh;
  }
  if (inserted && size_.fetch_add(1) + 1 > max_entries_) {
    Disable(absl::StrCat("more than ", max_entries_, " consent states"));
  }
}

void ConsentStateIndex::EraseSubject(absl::string_view tenant, absl::string_view subject_key) {
  if (!enabled()) return;
  std::vector<uint32_t> tenant_slots;
  {
    absl::ReaderMutexLock lock(&slots_mu_);
    for (uint32_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].tenant == tenant) tenant_slots.push_back(i);
    }
  }
  for (uint32_t slot : tenant_slots) {
    Key key;
    if (!MakeKey(subject_key, slot, &key)) return;  // no such subject can be stored
    Shard& shard = ShardOf(key);
    absl::MutexLock lock(&shard.mu);
    if (shard.map.erase(key) > 0) size_.fetch_sub(1);
  }
}

}  // namespace dsar::consent
