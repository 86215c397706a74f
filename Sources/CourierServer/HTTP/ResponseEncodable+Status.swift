import Hummingbird

extension ResponseEncodable {
    /// This value as a response with the given status (201 Created, say).
    func response(status: HTTPResponse.Status) -> EditedResponse<Self> {
        EditedResponse(status: status, response: self)
    }
}

/// The empty success response (204).
let noContent = Response(status: .noContent)
