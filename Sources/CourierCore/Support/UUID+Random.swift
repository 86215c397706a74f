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

    /// A new UUID whose first 48 bits are `milliseconds` since 1970, the rest random (version 7,
    /// RFC 9562): ids made later sort after, so the B-tree index of a table keyed by them grows at
    /// its end, as a sequence's would, instead of dirtying a random page with every insert. Used
    /// for messages, whose time every member sees anyway; 74 random bits keep it unguessable.
    public static func timeOrdered(milliseconds: Int64) -> UUID {
        var id = random().uuid
        withUnsafeMutableBytes(of: &id) { raw in
            let time = UInt64(clamping: max(0, milliseconds))
            for index in 0..<6 { raw[index] = UInt8(truncatingIfNeeded: time >> (8 * (5 - index))) }
            raw[6] = (raw[6] & 0x0F) | 0x70  // version 7
        }
        return UUID(uuid: id)
    }
}
