import CourierCore
import Foundation

extension UUID {
    /// An id as a client writes it: exactly the 36-character form, nothing more lenient.
    init?(clientText text: String) {
        guard let id = UUID(text: text) else { return nil }
        self = id
    }

    /// Parses an id sent by a client in a body or frame, reporting `field` (422) when it is not one.
    static func parse(_ text: String, field: String) throws(CourierError) -> UUID {
        guard let id = UUID(clientText: text) else { throw CourierError.invalid(field, "\(field) must be an id.") }
        return id
    }
}
