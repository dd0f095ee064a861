// Helpers for tests that need a real Store on a real SQLite file: dsard's
// migrations plus a small key-value table for exercising the writer.
#ifndef DSAR_TESTS_TESTING_TEST_STORE_H_
#define DSAR_TESTS_TESTING_TEST_STORE_H_

#include <SQLiteCpp/Statement.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/store/migrations.h"
#include "lib/store/store.h"

namespace dsar::testing {

// DsarMigrations() followed by a "kv" table: (k INTEGER PRIMARY KEY, v TEXT).
inline const std::vector<store::Migration>& MigrationsWithKv() {
  static const std::vector<store::Migration>* const all = [] {
    auto* m = new std::vector<store::Migration>(store::DsarMigrations());
    m->push_back({static_cast<int>(m->size()) + 1, "test_kv",
                  "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"});
    return m;
  }();
  return *all;
}

inline absl::StatusOr<std::unique_ptr<store::Store>> OpenKvStore(const std::string& path,
                                                                 int max_group_size = 512,
                                                                 int max_queue_depth = 100000) {
  store::StoreOptions options;
  options.path = path;
  options.max_group_size = max_group_size;
  options.max_queue_depth = max_queue_depth;
  options.migrations = &MigrationsWithKv();
  return store::Store::Open(options);
}

// A WriteFn inserting (k, v).
inline store::WriteFn InsertKv(int64_t k, std::string v = "x") {
  return [k, v = std::move(v)](store::WriteTxn& txn) {
    SQLite::Statement& insert = txn.Prepare("INSERT INTO kv (k, v) VALUES (?, ?)");
    insert.bind(1, static_cast<int64_t>(k));
    insert.bind(2, v);
    insert.exec();
    return absl::OkStatus();
  };
}

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_TEST_STORE_H_
