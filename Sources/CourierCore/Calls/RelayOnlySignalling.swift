/// What is left of a session description or an ICE candidate from someone who relays all their
/// calls: only TURN relay candidates, and no address of theirs anywhere, so the other side learns
/// the relay's address and never theirs.
///
/// The client asks the browser for relay candidates only; this is the server's own guarantee, for
/// a client that forgets or is not ours.
public enum RelayOnlySignalling {
    /// `sdp` without non-relay candidates, with relay candidates' related address (`raddr`, the
    /// person's own public address as the relay saw it) zeroed, and with the connection and RTCP
    /// addresses zeroed (ICE does not use them).
    public static func filter(sdp: String) -> String {
        let ending = sdp.contains("\r\n") ? "\r\n" : "\n"
        var lines: [String] = []
        for line in sdp.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if line.hasPrefix("a=candidate:") {
                guard let kept = filter(candidate: String(line.dropFirst(2))) else { continue }
                lines.append("a=" + kept)
            } else if line.hasPrefix("c=IN IP4 ") {
                lines.append("c=IN IP4 0.0.0.0")
            } else if line.hasPrefix("c=IN IP6 ") {
                lines.append("c=IN IP6 ::")
            } else if line.hasPrefix("a=rtcp:"), let port = line.dropFirst(7).split(separator: " ").first {
                lines.append("a=rtcp:\(port) IN IP4 0.0.0.0")
            } else {
                lines.append(line)
            }
        }
        return lines.joined(separator: ending)
    }

    /// A relay candidate (`candidate:… typ relay …`) with its related address zeroed; nil for any
    /// other kind (host, server- or peer-reflexive), which would give the person's address away.
    public static func filter(candidate: String) -> String? {
        var fields = candidate.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let typ = fields.firstIndex(of: "typ"), typ + 1 < fields.count, fields[typ + 1] == "relay" else { return nil }
        for (name, zero) in [("raddr", "0.0.0.0"), ("rport", "0")] {
            if let index = fields.firstIndex(of: name), index + 1 < fields.count { fields[index + 1] = zero }
        }
        return fields.joined(separator: " ")
    }
}
