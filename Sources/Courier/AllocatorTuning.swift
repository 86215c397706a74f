import CourierAllocator

/// glibc's allocator settings for a server process.
///
/// By default glibc moves its threshold for `mmap`'d blocks up after a large block is freed, and its
/// trim threshold with it; a thread's heap that shrinks past the trim threshold is given back to
/// the kernel with `madvise`, whose TLB flush interrupts every core. Under load the SQLite writer's
/// thread freed and re-grew its heap on nearly every commit: `perf` put `madvise` at 14 % of that
/// thread's time, on the one path every write goes through. Fixed thresholds stop the churn; a heap
/// keeps up to `trimThreshold` of free memory for reuse instead of giving it back at once.
enum AllocatorTuning {
    /// Blocks from this size up come straight from `mmap` (glibc's default starts at 128 KiB).
    static let mmapThreshold: Int32 = 1 << 20
    /// Free memory a heap keeps at its top before giving it back.
    static let trimThreshold: Int32 = 32 << 20

    /// Applies the settings. Call once, before the process starts its threads.
    static func apply() {
        _ = courier_set_allocator_thresholds(mmapThreshold, trimThreshold)
    }
}
