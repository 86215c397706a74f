import CourierCore
import Crypto
import Foundation
import SQLKit

/// The search index, kept without a readable word in it.
///
/// Each index entry of a message (`SearchText.indexTokens`: its words and their prefixes) is
/// stored as HMAC-SHA-256 under the chat's search key (`Keyring.searchKey`), cut to 64 bits, next
/// to the message's `seq`: a stolen database shows neither words nor which chats share a word, and
/// only the hits of a query are decrypted, to confirm them and show them. Entries are written in
/// the message's own transaction, replaced by an edit and removed by a delete.
///
/// Two entries can share a hash (64 bits: about one pair in 10^10 at a billion entries), and
/// `(token, seq)` does not name the chat: a query's candidates are always checked against their
/// decrypted text, so a collision costs a candidate, never a wrong hit.
public struct SearchIndex: Sendable {
    let keyring: Keyring

    public init(keyring: Keyring) { self.keyring = keyring }

    /// The index entries of a message with `text` in a chat (creating the chat's key if needed).
    public func entries(of text: String, in chatID: UUID) async throws -> [Int64] {
        let tokens = SearchText.indexTokens(text)
        guard !tokens.isEmpty, let key = try await keyring.searchKey(for: chatID, creating: true) else { return [] }
        return Self.hashes(of: tokens, key: key)
    }

    /// The entries a query looks up in a chat, in the order of its tokens; nil when the chat has
    /// no key yet (then nothing of it is indexed).
    func lookups(_ tokens: [String], in chatID: UUID) async throws -> [Int64]? {
        guard let key = try await keyring.searchKey(for: chatID, creating: false) else { return nil }
        return Self.hashes(of: tokens, key: key)
    }

    /// Each token's HMAC, cut to 64 bits. The key is set up once (its padded inner and outer
    /// blocks hashed) and copied for each token, which is what `authenticationCode(for:using:)`
    /// would redo per token.
    static func hashes(of tokens: some Collection<String>, key: SymmetricKey) -> [Int64] {
        let keyed = HMAC<SHA256>(key: key)
        return tokens.map { token in
            var hmac = keyed
            hmac.update(data: Data(token.utf8))
            return hmac.finalize().withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
        }
    }

    /// Rows one insert carries at most (two bound values each).
    static let rowsPerStatement = 1024

    /// Adds entries of messages (by `seq`); an entry present already is left as it is.
    static func add(_ entries: [(token: Int64, seq: Int64)], on sql: any SQLDatabase) async throws {
        for start in stride(from: 0, to: entries.count, by: rowsPerStatement) {
            // Padded on SQLite like an `IN` list (`anyOf`): a message's entry count then gives one
            // of a few statement texts, not one per count. A repeated row is an entry present already.
            let rows = Array(entries[start..<min(start + rowsPerStatement, entries.count)])
            let chunk = SQLQueryString.padsLists(on: sql.dialect) ? SQLQueryString.padded(rows) : rows
            let values: [SQLQueryString] = chunk.map { "(\(bind: $0.token), \(bind: $0.seq))" }
            try await sql.raw("INSERT INTO search_tokens (token, seq) VALUES \(values.joined(separator: ", ")) ON CONFLICT DO NOTHING").run()
        }
    }

    static func add(_ tokens: [Int64], seq: Int64, on sql: any SQLDatabase) async throws {
        try await add(tokens.map { ($0, seq) }, on: sql)
    }

    /// Removes a message's entries.
    static func remove(_ tokens: [Int64], seq: Int64, on sql: any SQLDatabase) async throws {
        for start in stride(from: 0, to: tokens.count, by: rowsPerStatement) {
            let chunk = Array(tokens[start..<min(start + rowsPerStatement, tokens.count)])
            try await sql.raw("DELETE FROM search_tokens WHERE seq = \(bind: seq) AND token IN (\(anyOf: chunk))").run()
        }
    }
}
