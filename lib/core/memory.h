// Returning freed heap memory to the operating system after a one-off peak.
//
// dsard links tcmalloc (DSAR_TCMALLOC), which keeps freed pages for reuse;
// after building a large structure once (the consent state index: its hash
// table doubles while it loads, and each doubling frees the smaller table)
// those pages would stay in dsard's RSS. Binaries without tcmalloc (tests,
// sanitizer builds) get glibc's malloc_trim instead.
#ifndef DSAR_LIB_CORE_MEMORY_H_
#define DSAR_LIB_CORE_MEMORY_H_

namespace dsar {

// Releases free heap pages to the OS (tcmalloc when linked, else glibc).
void ReleaseFreeMemoryToSystem();

}  // namespace dsar

#endif  // DSAR_LIB_CORE_MEMORY_H_
