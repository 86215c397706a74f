import CourierCore
import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1/uploads`: resumable uploads in the manner of tus 1.0. Create one with the file's size,
/// type, name and SHA-256; `PATCH` bytes at `Upload-Offset` (one request or many; a dropped one
/// keeps what arrived); `GET`/`HEAD` tell the stored offset; `POST …/complete` checks and
/// processes the file and answers the media.
struct UploadController {
    let media: MediaService

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.post(use: create)
        group.get(":id", use: show)
        group.head(":id", use: head)
        group.patch(":id", use: append)
        group.delete(":id", use: cancel)
        group.post(":id/complete", use: complete)
    }

    @Sendable func create(request: Request, context: AuthenticatedContext) async throws -> Response {
        let body = try await request.decodeJSON(as: CreateUploadRequest.self, context: context)
        let record = try await media.createUpload(try body.validated(), for: context.user.userID)
        var response = try UploadResponse(record).response(from: request, context: context)
        response.status = .created
        response.headers[.location] = "/api/v1/uploads/\(record.id.lowercasedString)"
        response.headers[.uploadOffset] = "0"
        return response
    }

    @Sendable func show(request: Request, context: AuthenticatedContext) async throws -> Response {
        let record = try await media.upload(try uploadID(context), for: context.user.userID)
        var response = try UploadResponse(record).response(from: request, context: context)
        response.headers[.uploadOffset] = String(record.received)
        response.headers[.uploadLength] = String(record.size)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// tus's way to ask for the offset: the headers of `GET`, no body.
    @Sendable func head(request: Request, context: AuthenticatedContext) async throws -> Response {
        let record = try await media.upload(try uploadID(context), for: context.user.userID)
        return Response(status: .ok, headers: [.uploadOffset: String(record.received), .uploadLength: String(record.size), .cacheControl: "no-store"])
    }

    /// 204 with the new `Upload-Offset`; 409 `offset_mismatch` when the bytes do not start where
    /// the upload stands (ask for the offset and continue from there).
    @Sendable func append(request: Request, context: AuthenticatedContext) async throws -> Response {
        let id = try uploadID(context)
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/offset+octet-stream") || type.hasPrefix("application/octet-stream") else {
            throw CourierError(.badRequest, code: "invalid_content_type", message: "Send the bytes as application/offset+octet-stream.")
        }
        guard let offsetText = request.headers[.uploadOffset], let offset = Int64(offsetText), offset >= 0 else {
            throw CourierError(.badRequest, code: "invalid_upload_offset", message: "Upload-Offset must give the byte the body starts at.")
        }
        let length = request.headers[.contentLength].flatMap { Int64($0) }
        let stored = try await media.append(to: id, at: offset, declaredLength: length, body: request.body, for: context.user.userID)
        return Response(status: .noContent, headers: [.uploadOffset: String(stored)])
    }

    @Sendable func cancel(request: Request, context: AuthenticatedContext) async throws -> Response {
        try await media.cancel(try uploadID(context), for: context.user.userID)
        return noContent
    }

    /// 201 with the media once the bytes check out and are processed.
    @Sendable func complete(request: Request, context: AuthenticatedContext) async throws -> EditedResponse<MediaResponse> {
        let id = try uploadID(context)
        let attachment = try await media.complete(id, for: context.user.userID)
        return MediaResponse(attachment: attachment, createdAt: .now()).response(status: .created)
    }

    private func uploadID(_ context: AuthenticatedContext) throws(CourierError) -> UUID {
        try context.parameters.uuid("id", resource: "upload")
    }
}

extension HTTPField.Name {
    static let uploadOffset = Self("Upload-Offset")!
    static let uploadLength = Self("Upload-Length")!
}
