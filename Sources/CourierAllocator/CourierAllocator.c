#include "CourierAllocator.h"

// Any C library header defines __GLIBC__ (through <features.h>); test for it only after one.
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int courier_set_allocator_thresholds(int mmap_threshold, int trim_threshold) {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
#else
    (void)mmap_threshold;
    (void)trim_threshold;
    return 0;
#endif
}
