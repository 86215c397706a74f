#ifndef COURIER_ALLOCATOR_H
#define COURIER_ALLOCATOR_H

/// Fixes glibc's thresholds for `mmap`'d blocks and for giving a heap's free top back to the
/// kernel (`mallopt`, which Swift's Glibc module does not import). Returns 1 when both were set,
/// 0 otherwise (and always 0 where the C library is not glibc).
int courier_set_allocator_thresholds(int mmap_threshold, int trim_threshold);

#endif
