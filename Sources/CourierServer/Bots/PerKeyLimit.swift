import Foundation

/// How many of something each key (a person, a bot) has going at once, up to `limit`: presses
/// waiting for a bot's answer, uploads being received.
actor PerKeyLimit {
    let limit: Int
    private var pending: [UUID: Int] = [:]

    init(limit: Int) { self.limit = limit }

    /// Takes a place for `key`; false when it has `limit` already.
    func enter(_ key: UUID) -> Bool {
        guard pending[key, default: 0] < limit else { return false }
        pending[key, default: 0] += 1
        return true
    }

    func leave(_ key: UUID) {
        pending[key, default: 1] -= 1
        if pending[key] == 0 { pending[key] = nil }
    }
}
