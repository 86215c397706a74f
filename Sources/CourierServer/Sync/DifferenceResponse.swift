import Foundation
import Hummingbird

/// A page of catching up as JSON: `GET /api/v1/updates` answers it whole; WebSocket `resume` sends
/// the updates as frames and then the positions in its `resumed` frame.
struct DifferenceResponse: ResponseEncodable {
    let difference: SyncService.Difference

    enum CodingKeys: String, CodingKey {
        case updates, chats, more
        case accountPTS = "account_pts"
        case tooLong = "too_long"
        case invalidPosition = "invalid_position"
        case left
        case accountTooLong = "account_too_long"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(difference.updates, forKey: .updates)
        try encodePositions(to: encoder)
    }

    /// Everything but the updates: where the device stands now and what it must reload.
    func encodePositions(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(difference.accountPTS, forKey: .accountPTS)
        try container.encode(Dictionary(uniqueKeysWithValues: difference.chats.map { ($0.key.lowercasedString, $0.value) }), forKey: .chats)
        try container.encode(difference.tooLong.map(\.lowercasedString), forKey: .tooLong)
        try container.encode(difference.invalidPosition.map(\.lowercasedString), forKey: .invalidPosition)
        try container.encode(difference.left.map(\.lowercasedString), forKey: .left)
        try container.encode(difference.accountTooLong, forKey: .accountTooLong)
        try container.encode(difference.more, forKey: .more)
    }
}
