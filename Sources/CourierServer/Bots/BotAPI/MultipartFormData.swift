import Foundation

/// A `multipart/form-data` body (RFC 7578) read whole: the Bot API's uploads are bounded
/// (`BotAPIArguments.maxBodyBytes`), so there is no need to stream them.
struct MultipartFormData {
    struct Part {
        let name: String
        let fileName: String?
        let contentType: String?
        let body: ArraySlice<UInt8>
    }

    let parts: [Part]
    static let maxHeaderBytes = 8 * 1024

    /// Parses `body` delimited by `boundary`; nil when it is not well formed.
    init?(body: [UInt8], boundary: String) {
        guard !boundary.isEmpty, boundary.utf8.count <= 200 else { return nil }
        let delimiter = Array("--\(boundary)".utf8)
        guard var position = Self.find(delimiter, in: body, from: 0) else { return nil }
        var parts: [Part] = []
        while true {
            position += delimiter.count
            // "--" after a delimiter closes the body.
            if body.count >= position + 2, body[position] == UInt8(ascii: "-"), body[position + 1] == UInt8(ascii: "-") { break }
            guard let headersStart = Self.skipLineEnd(in: body, at: position),
                  let headersEnd = Self.find(Array("\r\n\r\n".utf8), in: body, from: headersStart)
            else { return nil }
            // A part's headers are a few lines: more is an attack on the parser, not a file.
            guard headersEnd - headersStart <= Self.maxHeaderBytes,
                  let headers = String(bytes: body[headersStart..<headersEnd], encoding: .utf8)
            else { return nil }
            let contentStart = headersEnd + 4
            guard let next = Self.find(Array("\r\n".utf8) + delimiter, in: body, from: contentStart) else { return nil }
            var name: String?
            var fileName: String?
            var contentType: String?
            for line in headers.split(separator: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let field = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if field == "content-disposition" {
                    name = Self.parameter("name", in: value)
                    fileName = Self.parameter("filename", in: value)
                } else if field == "content-type" {
                    contentType = value
                }
            }
            guard let name else { return nil }
            parts.append(Part(name: name, fileName: fileName, contentType: contentType, body: body[contentStart..<next]))
            position = next + 2
            guard parts.count <= 64 else { return nil }
        }
        self.parts = parts
    }

    /// The boundary a `Content-Type: multipart/form-data; boundary=…` names.
    static func boundary(in contentType: String) -> String? {
        parameter("boundary", in: contentType)
    }

    /// A `key=value` or `key="value"` parameter of a header value.
    static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.trimmingCharacters(in: .whitespaces)
            guard let equals = pair.firstIndex(of: "="), pair[..<equals].lowercased() == key else { continue }
            var value = String(pair[pair.index(after: equals)...])
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    private static func skipLineEnd(in body: [UInt8], at position: Int) -> Int? {
        var index = position
        // Transport padding (spaces or tabs) may follow a delimiter.
        while index < body.count, body[index] == UInt8(ascii: " ") || body[index] == UInt8(ascii: "\t") { index += 1 }
        guard index + 1 < body.count, body[index] == UInt8(ascii: "\r"), body[index + 1] == UInt8(ascii: "\n") else { return nil }
        return index + 2
    }

    /// Where `needle` first occurs in `haystack` from `start`, by Knuth–Morris–Pratt: linear in the
    /// body's length whatever the boundary (a naive search is quadratic for a body built to repeat
    /// the boundary's first bytes).
    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, start <= haystack.count else { return nil }
        var failure = [Int](repeating: 0, count: needle.count)
        var length = 0
        for index in 1..<max(1, needle.count) {
            while length > 0, needle[index] != needle[length] { length = failure[length - 1] }
            if needle[index] == needle[length] { length += 1 }
            failure[index] = length
        }
        var matched = 0
        var index = start
        while index < haystack.count {
            while matched > 0, haystack[index] != needle[matched] { matched = failure[matched - 1] }
            if haystack[index] == needle[matched] { matched += 1 }
            if matched == needle.count { return index - needle.count + 1 }
            index += 1
        }
        return nil
    }
}
