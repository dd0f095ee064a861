#include "lib/core/memory.h"

#include <malloc.h>

// gperftools' C entry point; weak, so binaries without tcmalloc link too.
extern "C" void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));

namespace dsar {

void ReleaseFreeMemoryToSystem() {
  if (MallocExtension_ReleaseFreeMemory != nullptr) {
    MallocExtension_ReleaseFreeMemory();
  } else {
    malloc_trim(0);
  }
}

}  // namespace dsar
