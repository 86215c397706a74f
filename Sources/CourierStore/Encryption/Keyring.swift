import CourierCore
import Crypto
import Foundation
import SQLKit
import Synchronization

/// Envelope encryption of stored content.
///
/// Each chat has a random data key; data keys are stored in `data_keys` wrapped (AES-256-GCM) by a
/// master key version from the key file, which never enters the database. Fields are sealed with
/// AES-256-GCM under their chat's data key and bound to their row by associated data, so a
/// ciphertext moved to another row or field fails to open. Rotating the master key re-wraps the
/// data keys; content is never re-encrypted.
public final class Keyring: Sendable {
    /// The master key versions and the current one, as last read from the key file. `keys rotate`
    /// (another process) adds a version and re-wraps the data keys with it; this node notices the
    /// file changed the next time it makes a data key or meets a version it does not know, and
    /// reads it again, so new data keys use the new version at once, without a restart.
    private let master: Mutex<(keys: [Int: SymmetricKey], current: Int, stamp: FileStamp?)>
    /// The key file, re-read when it changes; nil for a keyring made from keys in memory.
    private let keyFile: String?
    private let engine: any DatabaseEngine
    private let cache = Mutex<[UUID: SymmetricKey]>([:])
    private let scopeKeys = Mutex<[String: UUID]>([:])
    /// The search index keys derived so far, by the id of the data key they come from.
    private let searchKeys = Mutex<[UUID: SymmetricKey]>([:])

    /// The prefix of every sealed field: format version, then the data key id and the sealed box.
    static let prefix = "e1."

    init(masterKeys: [Int: SymmetricKey], currentVersion: Int, engine: any DatabaseEngine, keyFile: String? = nil) {
        self.master = Mutex((masterKeys, currentVersion, keyFile.flatMap(FileStamp.init(path:))))
        self.keyFile = keyFile
        self.engine = engine
    }

    var masterKeys: [Int: SymmetricKey] { master.withLock { $0.keys } }
    var currentVersion: Int { master.withLock { $0.current } }

    /// Reads the key file again if it changed since it was last read (a rotation). A file that
    /// cannot be read now keeps the versions in hand: they still open everything they opened.
    func refreshMasterKeys() {
        guard let keyFile, let stamp = FileStamp(path: keyFile), stamp != master.withLock({ $0.stamp }) else { return }
        guard let file = try? MasterKeyFile.load(path: keyFile) else { return }
        master.withLock { state in
            // Versions are only ever added; one missing from the file now is kept.
            state.keys.merge(file.keys) { _, new in new }
            state.current = max(state.current, file.current)
            state.stamp = stamp
        }
    }

    /// Opens the key file (creating it on a fresh install) and checks that it fits the database:
    /// a missing file with encrypted data, or a key that does not open the stored data keys, stops here.
    public static func open(keyFile path: String, engine: any DatabaseEngine) async throws -> Keyring {
        let versions = try await engine.read { sql in
            try await sql.raw("SELECT DISTINCT master_version FROM data_keys").all().map { try $0.decode(column: "master_version", as: Int.self) }
        }
        let file: MasterKeyFile
        if let existing = try MasterKeyFile.load(path: path) {
            file = existing
        } else if versions.isEmpty {
            file = try MasterKeyFile.create(path: path)
        } else {
            throw KeyringError("The database holds encrypted content but the master key file \(path) is missing. Restore it from your key backup.")
        }
        let keyring = Keyring(masterKeys: file.keys, currentVersion: file.current, engine: engine, keyFile: path)
        for version in versions {
            guard keyring.masterKeys[version] != nil else {
                throw KeyringError("The database needs master key version \(version), which \(path) does not have.")
            }
            // One data key per version proves the key file is the right one.
            let sample = try await engine.read { sql in
                try await sql.raw("SELECT id, wrapped_key FROM data_keys WHERE master_version = \(bind: version) LIMIT 1").first()
            }
            if let sample {
                let id = try sample.decode(column: "id", as: UUID.self)
                guard (try? keyring.unwrap(try sample.decode(column: "wrapped_key", as: String.self), id: id, version: version)) != nil else {
                    throw KeyringError("The master key in \(path) does not match this database (version \(version) cannot open its data keys).")
                }
            }
        }
        return keyring
    }

    // MARK: Keys derived for other uses

    /// The key that seals the audit log under master key `version`, derived (HKDF-SHA256) so that
    /// the master key itself never signs anything.
    func auditKey(version: Int) -> SymmetricKey? {
        if masterKeys[version] == nil { refreshMasterKeys() }
        return masterKeys[version].map {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: $0, info: Data("courier/audit-log/v1".utf8), outputByteCount: 32)
        }
    }

    /// A key for `purpose` derived (HKDF-SHA256) from the current master key: every node with the
    /// same key file derives the same one, and rotating the master key replaces it.
    public func derivedKey(purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: masterKeys[currentVersion]!, info: Data("courier/\(purpose)".utf8), outputByteCount: 32)
    }

    /// The blind index of `value` for `field`: HMAC-SHA-256 under the keyring's blind-index key, in
    /// hex. Equal values give equal indexes, so a unique index and a look-up work on it, while the
    /// database never holds the value; without the key, guessing a phone number means asking the
    /// server.
    public func blindIndex(_ value: String, field: String) async throws -> String {
        let (_, key) = try await dataKey(for: .blindIndex)
        let code = HMAC<SHA256>.authenticationCode(for: Data("courier/blind-index/v1/\(field)/\(value)".utf8), using: key)
        return code.map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Sealing fields

    /// Which data key seals a field: each chat has its own; account secrets share one, and so do
    /// the keys and descriptions of media files.
    public enum Scope: Sendable, Hashable {
        case chat(UUID)
        case accounts
        case media
        /// Names and descriptions of chats and channels (one key: a chat's own key cannot exist
        /// before the chat row its name is stored in).
        case metadata
        /// The key of blind indexes: a random key like any data key, so rotating the master key
        /// re-wraps it without changing it (an index made before a rotation still matches).
        case blindIndex

        var name: String {
            switch self {
            case .chat(let id): "chat:\(id.lowercasedString)"
            case .accounts: "accounts"
            case .media: "media"
            case .metadata: "metadata"
            case .blindIndex: "blind-index"
            }
        }

        var chatID: UUID? {
            if case .chat(let id) = self { return id }
            return nil
        }
    }

    /// Where a field lives: what its ciphertext is bound to.
    public struct FieldContext: Sendable {
        let table: String
        let rowID: UUID
        let scope: Scope
        let field: String

        public init(table: String, rowID: UUID, scope: Scope, field: String) {
            self.table = table
            self.rowID = rowID
            self.scope = scope
            self.field = field
        }

        var associatedData: Data { Data("courier/\(table)/\(rowID.lowercasedString)/\(scope.name)/\(field)".utf8) }
    }

    /// Seals `plaintext` with its scope's data key. Empty text stays empty (it reveals nothing).
    public func seal(_ plaintext: String?, _ context: FieldContext) async throws -> String? {
        guard let plaintext, !plaintext.isEmpty else { return plaintext }
        let (keyID, key) = try await dataKey(for: context.scope)
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key, authenticating: context.associatedData)
        return Self.prefix + keyID.lowercasedString + "." + box.combined!.base64EncodedString()
    }

    /// Opens a sealed field. Anything that does not open (tampered, moved, wrong key) is an
    /// integrity error, never garbage and never silently passed through.
    public func open(_ stored: String?, _ context: FieldContext) async throws -> String? {
        guard let stored, !stored.isEmpty else { return stored }
        // `e1.<36-character key id>.<base64>`, read by position: splitting the text and parsing
        // the id with `UUID(uuidString:)` (C's `sscanf`) was much of opening a field (perf).
        let utf8 = stored.utf8
        guard utf8.count > Self.prefix.utf8.count + 37, stored.hasPrefix(Self.prefix) else { throw Self.integrityError }
        let idStart = utf8.index(utf8.startIndex, offsetBy: Self.prefix.utf8.count)
        let idEnd = utf8.index(idStart, offsetBy: 36)
        guard utf8[idEnd] == UInt8(ascii: "."), let keyID = UUID(text: String(stored[idStart..<idEnd])),
              let combined = Data(base64Encoded: String(stored[utf8.index(after: idEnd)...]))
        else { throw Self.integrityError }
        let key = try await dataKey(id: keyID)
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            return String(decoding: try AES.GCM.open(box, using: key, authenticating: context.associatedData), as: UTF8.self)
        } catch {
            throw Self.integrityError
        }
    }

    static let integrityError = CourierError(
        .internalError, code: "data_integrity_error", message: "Stored content failed its integrity check; the operator has been told in the log."
    )

    // MARK: Data keys

    /// The key a chat's search index entries are hashed with (HKDF from the chat's data key), so
    /// that the same word gives unrelated entries in two chats, and rotating the master key, which
    /// re-wraps data keys, leaves the index valid. nil when the chat has no data key yet (nothing
    /// of it was indexed), unless `creating`.
    public func searchKey(for chatID: UUID, creating: Bool) async throws -> SymmetricKey? {
        guard let (id, key) = try await dataKey(for: .chat(chatID), creating: creating) else { return nil }
        // Derived once per data key (they never change: rotation re-wraps them); HKDF on every
        // message sent was about 2 % of the server's CPU (perf).
        if let derived = searchKeys.withLock({ $0[id] }) { return derived }
        let derived = HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data("courier/search-index/v1".utf8), outputByteCount: 32)
        searchKeys.withLock { $0[id] = derived }
        return derived
    }

    /// Whether this process holds the chat's data key already, so that sealing for the chat
    /// neither reads nor creates one.
    func holdsKey(forChat chatID: UUID) -> Bool {
        guard let id = scopeKeys.withLock({ $0[Scope.chat(chatID).name] }) else { return false }
        return cache.withLock { $0[id] != nil }
    }

    private func dataKey(for scope: Scope) async throws -> (UUID, SymmetricKey) {
        try await dataKey(for: scope, creating: true)!
    }

    private func dataKey(for scope: Scope, creating: Bool) async throws -> (UUID, SymmetricKey)? {
        let name = scope.name
        if let id = scopeKeys.withLock({ $0[name] }), let key = cache.withLock({ $0[id] }) { return (id, key) }
        let existing = try await engine.read { sql in
            try await sql.raw("SELECT id FROM data_keys WHERE scope = \(bind: name)").first()?.decode(column: "id", as: UUID.self)
        }
        guard let id = creating ? try await existing.asyncOr({ try await self.createDataKey(for: scope) }) : existing else { return nil }
        let key = try await dataKey(id: id)
        scopeKeys.withLock { $0[name] = id }
        return (id, key)
    }

    private func createDataKey(for scope: Scope) async throws -> UUID {
        refreshMasterKeys()
        let id = UUID.random()
        let key = SymmetricKey(size: .bits256)
        // Read once: a refresh in between must not label a key with a version it is not wrapped by.
        let version = currentVersion
        let wrapped = try wrap(key, id: id, version: version)
        do {
            try await engine.write { sql in
                try await sql.raw("""
                    INSERT INTO data_keys (id, scope, chat_id, master_version, wrapped_key, created_at)
                    VALUES (\(bind: id), \(bind: scope.name), \(bind: scope.chatID), \(bind: version), \(bind: wrapped),
                            \(bind: Timestamp.now().milliseconds))
                    """).run()
            }
            cache.withLock { $0[id] = key }
            return id
        } catch where UniqueViolation(error) != nil {
            // Another request created the scope's key first: use theirs.
            let theirs = try await engine.read { sql in
                try await sql.raw("SELECT id FROM data_keys WHERE scope = \(bind: scope.name)").first()?.decode(column: "id", as: UUID.self)
            }
            guard let theirs else { throw error }
            return theirs
        }
    }

    private func dataKey(id: UUID) async throws -> SymmetricKey {
        if let key = cache.withLock({ $0[id] }) { return key }
        guard let row = try await engine.read({ sql in
            try await sql.raw("SELECT wrapped_key, master_version FROM data_keys WHERE id = \(bind: id)").first()
        }) else { throw Self.integrityError }
        let key = try unwrap(
            try row.decode(column: "wrapped_key", as: String.self), id: id, version: try row.decode(column: "master_version", as: Int.self)
        )
        cache.withLock { $0[id] = key }
        return key
    }

    func wrap(_ key: SymmetricKey, id: UUID, version: Int) throws -> String {
        guard let master = masterKeys[version] else { throw KeyringError("No master key version \(version).") }
        let box = try AES.GCM.seal(key.withUnsafeBytes { Data($0) }, using: master, authenticating: Self.wrapContext(id))
        return box.combined!.base64EncodedString()
    }

    func unwrap(_ wrapped: String, id: UUID, version: Int) throws -> SymmetricKey {
        if masterKeys[version] == nil { refreshMasterKeys() }
        guard let master = masterKeys[version], let combined = Data(base64Encoded: wrapped) else { throw Self.integrityError }
        let box = try AES.GCM.SealedBox(combined: combined)
        return SymmetricKey(data: try AES.GCM.open(box, using: master, authenticating: Self.wrapContext(id)))
    }

    private static func wrapContext(_ id: UUID) -> Data { Data("courier/data_keys/\(id.lowercasedString)".utf8) }
}

/// What tells a changed file apart: its inode (a rename put a new file in place), size and time
/// of last change.
struct FileStamp: Equatable, Sendable {
    let inode: UInt64
    let size: Int64
    let changed: timespec

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        changed = info.st_ctim
    }

    static func == (lhs: FileStamp, rhs: FileStamp) -> Bool {
        lhs.inode == rhs.inode && lhs.size == rhs.size && lhs.changed.tv_sec == rhs.changed.tv_sec && lhs.changed.tv_nsec == rhs.changed.tv_nsec
    }
}
