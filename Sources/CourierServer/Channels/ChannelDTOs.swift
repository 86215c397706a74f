import CourierCore
import Foundation
import Hummingbird

struct CreateChannelRequest: Decodable {
    let name: String?
    let description: String?
    let username: String?
}

/// `PATCH /channels/:id`: a field left out stays; `null` clears `description` or `username`.
struct UpdateChannelRequest: Decodable {
    let name: String?
    let description: String??
    let username: String??

    enum CodingKeys: String, CodingKey {
        case name, description, username
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        description = try container.decodeUpdate(forKey: .description)
        username = try container.decodeUpdate(forKey: .username)
    }
}

struct ChannelResponse: ResponseEncodable {
    let id: String
    let name: String?
    let description: String?
    let username: String?
    let ownerID: String?
    let subscriberCount: Int
    let lastSeq: Int64
    let createdAt: Timestamp
    let updatedAt: Timestamp
    let role: ChatRole?
    let isSubscribed: Bool

    enum CodingKeys: String, CodingKey {
        case id, name, description, username, role
        case ownerID = "owner_id"
        case subscriberCount = "subscriber_count"
        case lastSeq = "last_seq"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case isSubscribed = "is_subscribed"
    }

    init(_ view: ChannelService.View) {
        id = view.chat.id.lowercasedString
        name = view.chat.name
        description = view.info.description
        username = view.info.username?.value
        ownerID = view.chat.ownerID?.lowercasedString
        subscriberCount = view.chat.memberCount
        lastSeq = view.chat.lastSeq
        createdAt = view.chat.createdAt
        updatedAt = view.chat.updatedAt
        role = view.role
        isSubscribed = view.role != nil
    }
}
