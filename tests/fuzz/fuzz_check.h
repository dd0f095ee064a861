// FUZZ_CHECK: the property a fuzz target asserts. A violated property aborts,
// which libFuzzer (and the replay driver under ctest) report as a failure
// with the input that caused it.
#ifndef DSAR_TESTS_FUZZ_FUZZ_CHECK_H_
#define DSAR_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

#endif  // DSAR_TESTS_FUZZ_FUZZ_CHECK_H_
