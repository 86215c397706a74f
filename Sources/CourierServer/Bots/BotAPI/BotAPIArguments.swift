import CourierCore
import Foundation
import Hummingbird
import NIOCore

/// A Bot API call's arguments, from wherever the library put them: the query string, and a body
/// of `application/json`, `application/x-www-form-urlencoded` or `multipart/form-data`. Values
/// from forms are strings; a method that wants an object (`reply_markup`) reads a string as JSON,
/// as Telegram does.
struct BotAPIArguments: Sendable {
    /// A file sent in a multipart body.
    struct File: Sendable {
        let fileName: String?
        let contentType: String?
        let bytes: ArraySlice<UInt8>
    }

    private(set) var values: [String: JSONValue] = [:]
    private(set) var files: [String: File] = [:]

    /// Bodies above this are refused (Telegram's own limit for uploads through the Bot API is 50 MB).
    static let maxBodyBytes = 50 * 1024 * 1024
    /// Bodies without files stay small.
    static let maxFormBytes = 256 * 1024

    init(values: [String: JSONValue] = [:], files: [String: File] = [:]) {
        self.values = values
        self.files = files
    }

    static func read(from request: Request) async throws -> BotAPIArguments {
        var arguments = BotAPIArguments()
        for (key, value) in request.uri.queryParameters {
            arguments.values[String(key)] = .string(String(value))
        }
        guard request.method == .post else { return arguments }
        let type = request.headers[.contentType]?.lowercased() ?? ""
        let limit = type.hasPrefix("multipart/form-data") ? maxBodyBytes : maxFormBytes
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw BotCallError.tooLarge
        }
        guard buffer.readableBytes > 0 else { return arguments }
        let bytes = Array(buffer.readableBytesView)
        if type.hasPrefix("application/json") {
            guard case .object(let object) = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
                throw BotCallError.badRequest("can't parse JSON object")
            }
            arguments.values.merge(object) { _, body in body }
        } else if type.hasPrefix("application/x-www-form-urlencoded") {
            for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let key = Self.formDecoded(parts[0]) else { throw BotCallError.badRequest("can't parse form") }
                arguments.values[key] = .string(parts.count > 1 ? Self.formDecoded(parts[1]) ?? "" : "")
            }
        } else if type.hasPrefix("multipart/form-data") {
            guard let boundary = MultipartFormData.boundary(in: request.headers[.contentType] ?? ""),
                  let form = MultipartFormData(body: bytes, boundary: boundary)
            else { throw BotCallError.badRequest("can't parse multipart body") }
            for part in form.parts {
                if part.fileName != nil {
                    arguments.files[part.name] = File(fileName: part.fileName, contentType: part.contentType, bytes: part.body)
                } else {
                    // Text fields are as small as in a form; only files are large.
                    guard part.body.count <= maxFormBytes else { throw BotCallError.tooLarge }
                    arguments.values[part.name] = .string(String(decoding: part.body, as: UTF8.self))
                }
            }
        } else {
            throw BotCallError.badRequest("unsupported Content-Type")
        }
        return arguments
    }

    private static func formDecoded(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    // MARK: Typed access

    func string(_ name: String) throws(BotCallError) -> String? {
        switch values[name] {
        case nil, .null: nil
        case .string(let text): text
        case .number(let number): number.rounded() == number && abs(number) < 9e15 ? String(Int64(number)) : String(number)
        case .bool(let flag): String(flag)
        default: throw .badRequest("field \"\(name)\" must be a string")
        }
    }

    func requiredString(_ name: String) throws(BotCallError) -> String {
        guard let text = try string(name), !text.isEmpty else { throw .badRequest("\(name) is empty") }
        return text
    }

    func int(_ name: String) throws(BotCallError) -> Int64? {
        switch values[name] {
        case nil, .null: return nil
        case .number(let number):
            guard number.rounded() == number, abs(number) < 9e15 else { throw .badRequest("field \"\(name)\" must be an integer") }
            return Int64(number)
        case .string(let text):
            guard let value = Int64(text.trimmingCharacters(in: .whitespaces)) else { throw .badRequest("field \"\(name)\" must be an integer") }
            return value
        default: throw .badRequest("field \"\(name)\" must be an integer")
        }
    }

    func requiredInt(_ name: String) throws(BotCallError) -> Int64 {
        guard let value = try int(name) else { throw .badRequest("\(name) is required") }
        return value
    }

    func bool(_ name: String) throws(BotCallError) -> Bool? {
        switch values[name] {
        case nil, .null: return nil
        case .bool(let flag): return flag
        case .string(let text):
            switch text.lowercased() {
            case "true", "1": return true
            case "false", "0", "": return false
            default: throw .badRequest("field \"\(name)\" must be a Boolean")
            }
        case .number(let number): return number != 0
        default: throw .badRequest("field \"\(name)\" must be a Boolean")
        }
    }

    /// A JSON value sent as JSON, or as a string of JSON in a form.
    func json(_ name: String) throws(BotCallError) -> JSONValue? {
        switch values[name] {
        case nil, .null: return nil
        case .string(let text):
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
                throw .badRequest("can't parse \(name) JSON object")
            }
            return value
        case let value?: return value
        }
    }

    /// A JSON value decoded as `T`; a value that does not fit is a 400 naming the field.
    func object<T: Decodable>(_ name: String, as type: T.Type) throws -> T? {
        guard let value = try json(name) else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
        } catch let error as CourierError {
            throw BotCallError.badRequest(error.message)
        } catch {
            throw BotCallError.badRequest("can't parse \(name)")
        }
    }
}
