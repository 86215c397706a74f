import CourierCore
import Crypto
import Foundation
import SQLKit

/// The search index, kept without a readable word in it.
///
/// Each index entry of a message (`SearchText.indexTokens`: its words and their prefixes) is
/// HMAC-SHA-256 under the chat's search key (`Keyring.searchKey`), cut to 64 bits: a stolen
/// database shows neither words nor which chats share a word, and only the hits of a query are
/// decrypted, to confirm them and show them. Entries are written in the message's own
/// transaction, replaced by an edit and removed by a delete.
///
/// The engines keep the entries in the form each writes best:
/// - **SQLite**: one document per message in the FTS5 table `search_documents` (contentless, no
///   positions), its entries as hexadecimal terms, its rowid `ordinal << 32 | seq`, where
///   `search_chats` numbers the chats. FTS5 writes each transaction's entries as one new sorted
///   segment and merges segments in the background, so a message costs a few sequential pages; a
///   B-tree keyed by the random hashes cost one random page per entry (about 22 a message, each
///   written to the log and again by the checkpoint), which was what stalled the disk under load.
///   A chat's documents are one rowid range, read newest first.
/// - **PostgreSQL**: a row `(token, seq)` per entry in `search_tokens`; its log records rows, not
///   pages, so random keys cost it little.
///
/// Two entries can share a hash (64 bits: about one pair in 10^10 at a billion entries): a query's
/// candidates are always checked against their decrypted text, so a collision costs a candidate,
/// never a wrong hit.
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

    // MARK: Writing

    /// Indexes messages of one chat, each by its `seq` and entries; a message indexed already has
    /// its entries replaced on SQLite, and keeps its old ones besides the new on PostgreSQL (which
    /// is why an edit removes first).
    static func add(_ documents: [(seq: Int64, entries: [Int64])], in chatID: UUID, on sql: any SQLDatabase) async throws {
        let documents = documents.filter { !$0.entries.isEmpty }
        guard !documents.isEmpty else { return }
        if isDocuments(sql) {
            for document in documents where (0...maxSeq).contains(document.seq) {
                try await sql.raw("""
                    INSERT OR REPLACE INTO search_documents (rowid, tokens)
                    SELECT (ordinal << 32) | \(bind: document.seq), \(bind: terms(document.entries)) FROM search_chats WHERE chat_id = \(bind: chatID)
                    """).run()
            }
        } else {
            try await addRows(documents.flatMap { document in document.entries.map { ($0, document.seq) } }, on: sql)
        }
    }

    static func add(_ entries: [Int64], seq: Int64, in chatID: UUID, on sql: any SQLDatabase) async throws {
        try await add([(seq, entries)], in: chatID, on: sql)
    }

    /// Removes a message's entries. `previousText` is the text they were made from: SQLite drops
    /// the message's document by its rowid and never needs it; PostgreSQL deletes the rows of
    /// its entries, hashed again.
    func remove(seq: Int64, in chatID: UUID, previousText: String, on sql: any SQLDatabase) async throws {
        if Self.isDocuments(sql) {
            // A `seq` past 32 bits (or below 0) was never indexed (see `add`), and its bits would
            // reach into the ordinal's: the rowid would be another chat's document.
            guard (0...Self.maxSeq).contains(seq) else { return }
            try await sql.raw("""
                DELETE FROM search_documents WHERE rowid = (SELECT (ordinal << 32) | \(bind: seq) FROM search_chats WHERE chat_id = \(bind: chatID))
                """).run()
        } else {
            let tokens = try await entries(of: previousText, in: chatID)
            for start in stride(from: 0, to: tokens.count, by: Self.rowsPerStatement) {
                let chunk = Array(tokens[start..<min(start + Self.rowsPerStatement, tokens.count)])
                try await sql.raw("DELETE FROM search_tokens WHERE seq = \(bind: seq) AND token IN (\(anyOf: chunk))").run()
            }
        }
    }

    /// Removes every document of a chat about to be deleted (its last member left): the FTS5
    /// table has no foreign key to cascade, so they would stay for good. On PostgreSQL a chat's
    /// entries carry no chat id (they are keyed hashes), and stay until a re-index.
    static func removeChat(_ chatID: UUID, on sql: any SQLDatabase) async throws {
        guard isDocuments(sql) else { return }
        try await sql.raw("""
            DELETE FROM search_documents WHERE rowid BETWEEN (SELECT ordinal << 32 FROM search_chats WHERE chat_id = \(bind: chatID))
                AND (SELECT (ordinal << 32) | \(bind: maxSeq) FROM search_chats WHERE chat_id = \(bind: chatID))
            """).run()
    }

    /// Rows one insert into `search_tokens` carries at most (two bound values each).
    static let rowsPerStatement = 1024

    private static func addRows(_ entries: [(token: Int64, seq: Int64)], on sql: any SQLDatabase) async throws {
        for start in stride(from: 0, to: entries.count, by: rowsPerStatement) {
            let rows = entries[start..<min(start + rowsPerStatement, entries.count)]
            let values: [SQLQueryString] = rows.map { "(\(bind: $0.token), \(bind: $0.seq))" }
            try await sql.raw("INSERT INTO search_tokens (token, seq) VALUES \(values.joined(separator: ", ")) ON CONFLICT DO NOTHING").run()
        }
    }

    // MARK: SQLite's documents

    /// Whether entries live in `search_documents` (SQLite) rather than `search_tokens`.
    static func isDocuments(_ sql: any SQLDatabase) -> Bool { sql.dialect.name == "sqlite" }

    /// The largest `seq` a document's rowid holds (32 bits; a chat's 4,294,967,296th message and
    /// later ones are not indexed). `search_chats` numbers chats from 1 upwards, so the rowids of
    /// two chats never meet below 2^31 chats.
    static let maxSeq = Int64(UInt32.max)

    /// A chat's rowids, from `ordinal << 32` up, below `seq` when given (then `last` may be
    /// under `first`: none).
    static func rowids(ofChat ordinal: Int64, below seq: Int64? = nil) -> (first: Int64, last: Int64) {
        (ordinal << 32, (ordinal << 32) + min(seq.map { $0 - 1 } ?? maxSeq, maxSeq))
    }

    /// The `seq` of a document's rowid.
    static func seq(ofRowid rowid: Int64) -> Int64 { rowid & maxSeq }

    /// Entries as FTS5 terms: hexadecimal, which its `ascii` tokenizer keeps whole.
    static func terms(_ entries: [Int64]) -> String {
        entries.map { String(UInt64(bitPattern: $0), radix: 16) }.joined(separator: " ")
    }

    /// An FTS5 query for documents holding every one of `entries`.
    static func query(all entries: [Int64]) -> String {
        entries.map { "\"\(String(UInt64(bitPattern: $0), radix: 16))\"" }.joined(separator: " ")
    }
}
