// Child process for crash_test: performs writes through the Store from several
// threads and prints each key to stdout only after its write was acknowledged.
// The parent kills it with SIGKILL at a random moment.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tests/testing/test_store.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DB_PATH KEY_BASE\n", argv[0]);
    return 2;
  }
  const int64_t base = std::atoll(argv[2]);
  auto store = dsar::testing::OpenKvStore(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "open failed: %s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  absl::Mutex out_mu;
  std::vector<std::thread> threads;
  constexpr int kThreads = 8;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t i = 0;; ++i) {
        int64_t key = base + i * kThreads + t;
        if (!(*store)->WriteAndWait(dsar::testing::InsertKv(key)).ok()) std::abort();
        std::string line = absl::StrCat(key, "\n");
        absl::MutexLock lock(&out_mu);
        if (write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
          std::abort();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  return 0;
}
