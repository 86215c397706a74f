import CourierAllocator
import Testing

/// The C shim behind `courier serve`'s allocator settings reaches glibc's `mallopt`.
@Suite("Allocator thresholds")
struct AllocatorThresholdsTests {
    #if canImport(Glibc)
    /// The shim answers 0 where it does not see glibc (it once tested for `__GLIBC__` before any
    /// header had defined it, and so never called `mallopt`); glibc 2.36 accepts every threshold.
    @Test func theServersThresholdsAreAccepted() {
        #expect(courier_set_allocator_thresholds(1 << 20, 32 << 20) == 1)
    }
    #endif
}
