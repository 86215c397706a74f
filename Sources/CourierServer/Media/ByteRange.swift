import Foundation

/// A single `Range: bytes=…` request of a file of `size` bytes (RFC 9110 §14.1.2).
enum ByteRange {
    enum Parsed: Equatable {
        /// No usable range: send the whole file (also for forms this server does not serve, such as
        /// several ranges at once, which the RFC lets a server ignore).
        case whole
        case part(ClosedRange<Int64>)
        /// The range starts past the end (416).
        case unsatisfiable
    }

    static func parse(_ header: String?, size: Int64) -> Parsed {
        guard let header, header.hasPrefix("bytes="), !header.contains(",") else { return .whole }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let first = parts[0].trimmingCharacters(in: .whitespaces)
        let last = parts[1].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let suffix = Int64(last), suffix >= 0 else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .part(max(0, size - suffix)...(size - 1))
        }
        // Digits too large for a number still name a place past the end.
        if Int64(first) == nil, !first.isEmpty, first.allSatisfy { $0.isASCII && $0.isNumber } { return .unsatisfiable }
        guard let start = Int64(first), start >= 0 else { return .whole }
        guard start < size else { return .unsatisfiable }
        if last.isEmpty { return .part(start...(size - 1)) }
        // An end past what a number holds is past the end of the file too.
        let end = Int64(last) ?? (last.allSatisfy { $0.isASCII && $0.isNumber } ? Int64.max : -1)
        guard end >= start else { return .whole }
        return .part(start...min(end, size - 1))
    }
}
