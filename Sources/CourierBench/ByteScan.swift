/// Finding a few known keys in JSON frames without decoding them: the generator reads tens of
/// thousands of frames a second and must not become the bottleneck it measures.
enum ByteScan {
    /// Whether `needle` occurs in `bytes`.
    static func contains(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Bool {
        index(of: needle, in: bytes) != nil
    }

    /// The decimal number right after `needle`, if any.
    static func number(after needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard var position = index(of: needle, in: bytes) else { return nil }
        position += needle.count
        var value: UInt64 = 0
        var digits = 0
        while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57, digits < 19 {
            value = value * 10 + UInt64(bytes[position] - 48)
            position += 1
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    static func index(of needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let first = needle.first, bytes.count >= needle.count else { return nil }
        var start = 0
        let last = bytes.count - needle.count
        while start <= last {
            if bytes[start] == first {
                var matched = 1
                while matched < needle.count, bytes[start + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return start }
            }
            start += 1
        }
        return nil
    }
}
