import Foundation

/// What is left of a session description or an ICE candidate from someone who relays all their
/// calls: only TURN relay candidates, and no address of theirs anywhere, so the other side learns
/// the relay's address and never theirs.
///
/// The client asks the browser for relay candidates only; this is the server's own guarantee, for
/// a client that forgets or is not ours. Lines are read as leniently as browsers read them (any
/// case, surrounding and repeated white space), and a line that carries an address and is not a
/// relay candidate is rewritten or dropped.
public enum RelayOnlySignalling {
    public static func filter(sdp: String) -> String {
        let ending = sdp.contains("\r\n") ? "\r\n" : "\n"
        var lines: [String] = []
        for raw in sdp.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = String(raw).trimmingCharacters(in: .whitespacesAndNewlines)
            // Compared by Unicode scalars: a combining mark after "a=candidate:" must not hide it.
            let lowered = String(String.UnicodeScalarView(line.lowercased().unicodeScalars))
            let fields = line.split(whereSeparator: { $0.isWhitespace }).map(String.init)
            if lowered.unicodeScalars.starts(with: "a=candidate".unicodeScalars) {
                guard let kept = filter(candidate: String(line.dropFirst(2))) else { continue }
                lines.append("a=" + kept)
            } else if lowered.hasPrefix("a=remote-candidates") {
                continue
            } else if lowered.hasPrefix("c=") {
                lines.append(fields.count >= 2 && fields[1].uppercased() == "IP6" ? "c=IN IP6 ::" : "c=IN IP4 0.0.0.0")
            } else if lowered.hasPrefix("o=") {
                // The origin: user, session id and version kept, its address zeroed.
                lines.append(fields.count >= 3 ? (fields.prefix(3) + ["IN", "IP4", "0.0.0.0"]).joined(separator: " ") : "o=- 0 0 IN IP4 0.0.0.0")
            } else if lowered.hasPrefix("a=rtcp:") {
                let port = fields.first.map { String($0.dropFirst(7)) } ?? "9"
                lines.append("a=rtcp:\(port.isEmpty ? "9" : port) IN IP4 0.0.0.0")
            } else if line.isEmpty || (line.unicodeScalars.count > 2 && Array(line.unicodeScalars)[1] == "=" && !lowered.contains("candidate")) {
                lines.append(line)
            }
            // Anything else is not SDP, or a candidate in a form no browser writes: dropped.
        }
        return lines.joined(separator: ending)
    }

    /// A relay candidate (`candidate:… typ relay …`) with its related address zeroed; nil for any
    /// other kind (host, server- or peer-reflexive), which would give the person's address away.
    public static func filter(candidate: String) -> String? {
        var fields = candidate.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        guard fields.first.map({ $0.lowercased().unicodeScalars.starts(with: "candidate".unicodeScalars) }) == true,
              let typ = fields.firstIndex(where: { $0.lowercased() == "typ" }), typ + 1 < fields.count,
              fields[typ + 1].lowercased() == "relay"
        else { return nil }
        for (name, zero) in [("raddr", "0.0.0.0"), ("rport", "0")] {
            if let index = fields.firstIndex(where: { $0.lowercased() == name }), index + 1 < fields.count { fields[index + 1] = zero }
        }
        return fields.joined(separator: " ")
    }
}
