import CourierCore
import Hummingbird

extension Request {
    /// The `limit` / `offset` / `before_seq` / `after_seq` query parameters.
    func pageRequest(allowCursor: Bool = true) throws(CourierError) -> PageRequest {
        let query = uri.queryParameters
        return try PageRequest(query: { query.get($0) }, allowCursor: allowCursor)
    }

    /// `limit` and `offset` only, for lists without a `seq`.
    func offsetPage() throws(CourierError) -> (limit: Int, offset: Int) {
        let page = try pageRequest(allowCursor: false)
        guard case .offset(let offset) = page.position else { return (page.limit, 0) }
        return (page.limit, offset)
    }
}
