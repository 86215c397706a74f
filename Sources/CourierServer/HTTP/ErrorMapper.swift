import CourierCore
import Hummingbird
import Logging
import NIOCore

/// The one translation of any error into what a client is told, for REST responses and WebSocket
/// frames alike: a `CourierError` keeps its meaning, a body that does not decode names its field,
/// a framework status stays that status, and anything unexpected becomes `internal_error` (logged
/// here with its details, which the client never sees).
enum ErrorMapper {
    static func courierError(for error: any Error, logger: Logger) -> CourierError {
        switch error {
        case let error as CourierError:
            return error
        case let error as DecodingError:
            return CourierError(decoding: error)
        case is NIOTooManyBytesError:
            return .payloadTooLarge
        case let error as any HTTPResponseError:
            return CourierError(error.status)
        default:
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return .internalError
        }
    }
}
