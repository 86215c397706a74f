import Foundation

extension UUID {
    /// The 36-character form in lower case, as the API, tokens, keys and file names use it: what
    /// `uuidString.lowercased()` gives, without formatting through C's `sprintf` and copying the
    /// string again (ids are turned into text many times for every message sent).
    public var lowercasedString: String { text(uppercase: false) }

    /// The 36-character form in upper case, exactly `uuidString`: how ids are stored in SQLite.
    public var uppercasedString: String { text(uppercase: true) }

    /// The `8-4-4-4-12` hexadecimal digits.
    private func text(uppercase: Bool) -> String {
        let digits: StaticString = uppercase ? "0123456789ABCDEF" : "0123456789abcdef"
        return withUnsafeBytes(of: uuid) { bytes in
            digits.withUTF8Buffer { digits in
                String(unsafeUninitializedCapacity: 36) { text in
                    var at = 0
                    for (index, byte) in bytes.enumerated() {
                        if index == 4 || index == 6 || index == 8 || index == 10 {
                            text[at] = UInt8(ascii: "-")
                            at += 1
                        }
                        text[at] = digits[Int(byte >> 4)]
                        text[at + 1] = digits[Int(byte & 0x0F)]
                        at += 2
                    }
                    return at
                }
            }
        }
    }

    /// Reads the 36-character form in either case, as `UUID(uuidString:)` does, without going
    /// through C's `sscanf`. Nil for anything else.
    public init?(text: String) {
        var text = text
        let parsed: uuid_t? = text.withUTF8 { utf8 -> uuid_t? in
            guard utf8.count == 36 else { return nil }
            var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let complete = withUnsafeMutableBytes(of: &bytes) { out -> Bool in
                var at = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        guard utf8[at] == UInt8(ascii: "-") else { return false }
                        at += 1
                    }
                    guard let high = Self.hexValue(utf8[at]), let low = Self.hexValue(utf8[at + 1]) else { return false }
                    out[index] = high << 4 | low
                    at += 2
                }
                return true
            }
            return complete ? bytes : nil
        }
        guard let parsed else { return nil }
        self.init(uuid: parsed)
    }

    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
