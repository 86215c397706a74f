import CourierCore
import Foundation
import Hummingbird

/// Answers a download: `ETag` and `If-None-Match` (a stored form never changes, so its blob id is
/// its tag), one `Range` (206, or 416 past the end), and headers that keep a file a file:
/// `nosniff`, a sandboxing CSP, and `attachment` for anything that is not a photo, video or
/// voice note. The body is decrypted while it is sent.
struct MediaResponder {
    let media: MediaService

    func respond(_ download: MediaService.Download, to request: Request) async throws -> Response {
        let size = download.blob.size
        let etag = "\"\(download.blob.blobID.lowercasedString)\""
        var headers: HTTPFields = [
            .eTag: etag,
            .acceptRanges: "bytes",
            .cacheControl: "private, max-age=3600",
            .contentSecurityPolicy: "sandbox; default-src 'none'",
            .contentType: download.variant.mimeType,
            .contentDisposition: disposition(download),
        ]
        // If-None-Match compares weakly (RFC 9110 §13.1.2): W/"x" matches "x".
        let tags: [String] = request.headers[.ifNoneMatch]?.split(separator: ",").map { part -> String in
            let tag = part.trimmingCharacters(in: .whitespaces)
            return tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
        } ?? []
        if tags.contains(etag) || tags.contains("*") {
            return Response(status: .notModified, headers: headers)
        }
        let range: ClosedRange<Int64>
        var status = HTTPResponse.Status.ok
        switch ByteRange.parse(request.headers[.range], size: size) {
        case .whole:
            range = 0...(size - 1)
        case .part(let part):
            range = part
            status = .partialContent
            headers[.contentRange] = "bytes \(part.lowerBound)-\(part.upperBound)/\(size)"
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.contentDisposition] = nil
            let body = #"{"error":{"code":"range_not_satisfiable","message":"The range starts past the end of the file."}}"#
            return Response(status: .rangeNotSatisfiable, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let length = range.upperBound - range.lowerBound + 1
        headers[.contentLength] = String(length)
        let media = self.media
        let first = try await media.firstChunk(of: download, range: range)
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: Int(length)) { writer in
            try await media.stream(download, range: range, first: first) { try await writer.write($0) }
            try await writer.finish(nil)
        })
    }

    private func disposition(_ download: MediaService.Download) -> String {
        let inline = download.attachment.kind != .file
        var name = download.attachment.fileName
        // A photo size or a poster is a JPEG or WebP whatever the upload was: name it so.
        if download.variant.name != MediaVariant.original {
            let stem = (name as NSString).deletingPathExtension
            name = "\(stem.isEmpty ? "media" : stem)-\(download.variant.name).\(download.variant.mimeType == "image/webp" ? "webp" : download.variant.mimeType.hasPrefix("video/") ? "mp4" : "jpg")"
        }
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? "file"
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 0x20 ? Character($0) : "_" })
        return "\(inline ? "inline" : "attachment"); filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}
