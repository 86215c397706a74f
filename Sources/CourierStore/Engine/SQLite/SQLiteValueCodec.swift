import CourierCore
import Foundation
import SQLiteKit
import SQLiteNIO

/// Turns bound values into `SQLiteData` and column values back, as SQLiteKit's encoder and decoder
/// do, with the common types (text, integers, ids) handled directly.
///
/// SQLiteKit's coders ask each value whether it conforms to a protocol and, for ids, go through
/// `Codable` and C's `sprintf`/`sscanf`. A message sent binds and reads dozens of values; those
/// dynamic casts and conversions were a visible share of the writer's time. Every other type, and
/// any value of an unexpected kind, still goes through SQLiteKit's coders, so results and errors
/// stay theirs.
struct SQLiteValueCodec: Sendable {
    /// The one codec of the process: SQLiteKit's coders hold a `JSONEncoder` and a `JSONDecoder`
    /// (classes), which every statement and row would otherwise build anew.
    static let shared = SQLiteValueCodec()

    private let encoder = SQLiteDataEncoder()
    private let decoder = SQLiteDataDecoder()

    func encode(_ value: any Encodable) throws -> SQLiteData {
        switch value {
        case let text as String: .text(text)
        case let number as Int: .integer(number)
        case let number as Int64: .integer(Int(number))
        // `UUID` encodes as its upper-case `uuidString`: stored ids are compared as that text.
        case let id as UUID: .text(id.uppercasedString)
        case let id as UUID?: id.map { .text($0.uppercasedString) } ?? .null
        case let text as String?: text.map { .text($0) } ?? .null
        // A cast unwraps an optional: `Int?` and `Int64?` with a value take the cases above, and a
        // `nil` of any type already matched `UUID?` (a `nil` casts to any optional type).
        default: try encoder.encode(value)
        }
    }

    func decode<D: Decodable>(_ type: D.Type, from data: SQLiteData) throws -> D {
        switch data {
        case .text(let text):
            if D.self == String.self { return unsafeBitCast(text, to: D.self) }
            if D.self == String?.self { return unsafeBitCast(String?.some(text), to: D.self) }
            if D.self == UUID.self, let id = UUID(text: text) { return unsafeBitCast(id, to: D.self) }
            if D.self == UUID?.self, let id = UUID(text: text) { return unsafeBitCast(UUID?.some(id), to: D.self) }
        case .integer(let number):
            if D.self == Int.self { return unsafeBitCast(number, to: D.self) }
            if D.self == Int64.self { return unsafeBitCast(Int64(number), to: D.self) }
            if D.self == Int?.self { return unsafeBitCast(Int?.some(number), to: D.self) }
            if D.self == Int64?.self { return unsafeBitCast(Int64?.some(Int64(number)), to: D.self) }
        case .null:
            if D.self == UUID?.self { return unsafeBitCast(UUID?.none, to: D.self) }
            if D.self == String?.self { return unsafeBitCast(String?.none, to: D.self) }
            if D.self == Int?.self { return unsafeBitCast(Int?.none, to: D.self) }
            if D.self == Int64?.self { return unsafeBitCast(Int64?.none, to: D.self) }
        default:
            break
        }
        return try decoder.decode(D.self, from: data)
    }
}
