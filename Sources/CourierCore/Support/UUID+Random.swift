import Foundation

extension UUID {
    /// A new random (version 4) UUID, like `UUID()`, from the system's random source.
    ///
    /// Foundation's `UUID()` on Linux opens, reads and closes `/dev/urandom` for every id: three
    /// system calls, the open walking the path, once per message sent (perf). This asks the kernel
    /// for the same 16 bytes with `SystemRandomNumberGenerator` (`getrandom`), without a file.
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        var bytes = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeMutableBytes(of: &bytes) { raw in
            raw[6] = (raw[6] & 0x0F) | 0x40  // version 4
            raw[8] = (raw[8] & 0x3F) | 0x80  // RFC 4122 variant
            return UUID(uuid: raw.load(as: uuid_t.self))
        }
    }
}
