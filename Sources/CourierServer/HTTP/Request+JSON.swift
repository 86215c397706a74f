import CourierCore
import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// Decodes the JSON body as `T`, reporting problems in the API's terms: 413 past the size limit,
    /// 400 `invalid_json` for text that is not JSON, 400 `missing_field` / `invalid_field` naming the field.
    func decodeJSON<T: Decodable>(as type: T.Type = T.self, context: some RequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw CourierError.payloadTooLarge
        }
        do {
            return try JSONDecoder().decode(T.self, from: buffer)
        } catch let error as DecodingError {
            throw CourierError(decoding: error)
        }
    }
}

extension CourierError {
    init(decoding error: DecodingError) {
        func name(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = name(context.codingPath + [key])
            self.init(.badRequest, code: "missing_field", message: "The field '\(field)' is required.", field: field)
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let field = name(context.codingPath)
            self.init(.badRequest, code: "invalid_field", message: "The field '\(field)' has the wrong type.", field: field)
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            let field = name(context.codingPath)
            self.init(.badRequest, code: "invalid_field", message: "The field '\(field)' is not valid.", field: field)
        default:
            self.init(.badRequest, code: "invalid_json", message: "The request body is not a valid JSON object.")
        }
    }
}
