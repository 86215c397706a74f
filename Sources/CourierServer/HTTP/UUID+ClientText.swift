import CourierCore
import Foundation

extension UUID {
    /// An id as a client writes it: exactly the 36-character form, nothing more lenient.
    init?(clientText text: String) {
        guard text.utf8.count == 36, let id = UUID(uuidString: text) else { return nil }
        self = id
    }

    /// Parses an id sent by a client in a body or frame, reporting `field` (422) when it is not one.
    static func parse(_ text: String, field: String) throws(CourierError) -> UUID {
        guard let id = UUID(clientText: text) else { throw CourierError.invalid(field, "\(field) must be an id.") }
        return id
    }
}
