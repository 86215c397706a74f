import CourierCore
@testable import CourierServer
import CourierStore
import Foundation
import Hummingbird
import HummingbirdTesting
import SQLKit
import Testing

@Suite("Backup and restore")
struct BackupTests {
    static let passphrase = try! BackupSecret.fromPassphrase("correct horse battery staple")

    /// A source and the app over it: the store's key folder is the data folder (it holds the master
    /// key and the audit anchors), media in a folder of their own.
    struct Source {
        let store: Store
        let location: TestEngine.Location
        let blobs: FolderBlobStore
        let media: TemporaryFolder

        var dataDirectory: String { (location.keyFile as NSString).deletingLastPathComponent }

        func maker() -> BackupMaker {
            let database: BackupDatabase = location.schema.map { .postgres(store.engine, url: TestEngine.postgresURL!, schema: $0) } ?? .sqlite(store.engine)
            return BackupMaker(source: .init(database: database, dataDirectory: dataDirectory, masterKeyPath: location.keyFile, blobs: blobs), logger: TestEngine.logger)
        }
    }

    func withSource(_ engine: TestEngine, _ body: @Sendable (Source, APIClient) async throws -> Void) async throws {
        try await engine.withDatabase { store, location in
            let media = try TemporaryFolder()
            let source = Source(store: store, location: location, blobs: try FolderBlobStore(folder: media.path + "/media"), media: media)
            let services = try await AppServices(
                store: store, jwtSecret: testJWTSecret, bcryptCost: 4, blobs: source.blobs, mediaWorkFolder: media.path + "/work"
            )
            let app = Application(router: buildRouter(services: services), logger: TestEngine.logger)
            try await app.test(.router) { client in try await body(source, APIClient(client: client)) }
        }
    }

    /// A restored copy: its folder, and for PostgreSQL the database made for it (dropped afterwards).
    func withRestoreTarget(_ engine: TestEngine, schema: String?, _ body: @Sendable (BackupRestorer.Target, @Sendable () async throws -> Store) async throws -> Void) async throws {
        let folder = try TemporaryFolder()
        let data = folder.path + "/data"
        let blobs = try FolderBlobStore(folder: data + "/media")
        guard engine == .postgres, let base = TestEngine.postgresURL else {
            let target = BackupRestorer.Target(dataDirectory: data, masterKeyPath: data + "/master.key", database: .sqlite, blobs: blobs)
            try await body(target) {
                let engine = try await SQLiteEngine.open(path: data + "/courier.sqlite", logger: TestEngine.logger)
                return Store(engine: engine, keyring: try await Keyring.open(keyFile: target.masterKeyPath, engine: engine), auditAnchorPath: data + "/audit-anchor")
            }
            return
        }
        let name = "restore_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try await PostgresEngine.connect(url: base, maxConnections: 1, logger: TestEngine.logger)
        try await admin.read { try await $0.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
        var restoredURL = base
        restoredURL.database = name
        let url = restoredURL
        let target = BackupRestorer.Target(dataDirectory: data, masterKeyPath: data + "/master.key", database: .postgres(url: url, schema: schema), blobs: blobs)
        do {
            try await body(target) {
                let engine = try await PostgresEngine.connect(url: url, maxConnections: 4, searchPath: schema, logger: TestEngine.logger)
                return Store(engine: engine, keyring: try await Keyring.open(keyFile: target.masterKeyPath, engine: engine), auditAnchorPath: data + "/audit-anchor")
            }
        } catch {
            try? await admin.read { try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
            try? await admin.close()
            throw error
        }
        try await admin.read { try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
        try await admin.close()
    }

    /// Messages, edits and uploads go on while the backup runs; the restored copy holds everything
    /// acknowledged before the backup began, and nothing torn: every chat's messages and updates
    /// are a gap-free beginning of the original's, each row as it was at some moment, members the
    /// same, every media file the same bytes, served by a server started on the copy.
    @Test(arguments: TestEngine.all)
    func aBackupUnderWriteLoadRestoresWholeAndUntorn(engine: TestEngine) async throws {
        try await withSource(engine) { source, api in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let chats = [try await api.createGroup(alice, members: [bob]), try await api.createGroup(bob, name: "Other", members: [alice])]
            let acknowledged = AcknowledgedWrites()
            let load = Task {
                var round = 0
                while await !acknowledged.stopped {
                    round += 1
                    let chat = chats[round % 2], sender = round % 3 == 0 ? bob : alice
                    guard let sent = try? await api.sendMessage(sender, to: chat, "message \(round)"), sent.status == .created,
                          let id = sent["id"] as? String
                    else { continue }
                    await acknowledged.add(id, at: Timestamp.now())
                    if round % 4 == 0 {
                        _ = try? await api.send(.patch, "/api/v1/messages/\(id)", json: ["content": "message \(round), edited"], token: sender.token)
                    }
                    if round % 10 == 0 {
                        let bytes = (0..<(600 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round) }
                        if let media = try? await api.uploadMedia(bytes, by: sender) {
                            _ = try? await api.sendMessage(sender, to: chat, "file \(round)", extra: ["attachments": [media], "message_type": nil])
                        }
                    }
                }
            }
            try await acknowledged.waitFor(count: 30)
            let archive = source.media.path + "/backup.courier"
            let started = Timestamp.now()
            let manifest = try await source.maker().backup(to: archive, secret: Self.passphrase)
            let finished = Timestamp.now()
            try await acknowledged.waitFor(count: await acknowledged.count + 20)
            await acknowledged.stop()
            await load.value

            #expect(manifest.media.chunks > 0 && manifest.media.missingChunks == 0)
            #expect((manifest.counts["messages"] ?? 0) >= 30)
            try await withRestoreTarget(engine, schema: source.location.schema) { target, openRestored in
                try await BackupRestorer(logger: TestEngine.logger).restore(archive, secret: Self.passphrase, into: target)
                let restored = try await openRestored()
                do {
                    try await Self.compare(original: source.store, restored: restored, manifest: manifest, backupWindow: started...finished)
                    let restoredIDs = Set(try await Self.messageRows(restored).keys)
                    let missing = await acknowledged.before(started).filter { !restoredIDs.contains($0) }
                    #expect(missing.isEmpty, "acknowledged before the backup began, missing from it: \(missing)")
                    #expect(try await restored.audit.verify().firstBrokenSeq == nil)
                    try await Self.mediaMatch(original: api, restored: restored, target: target, users: [alice, bob])
                    try await restored.engine.close()
                } catch {
                    try? await restored.engine.close()
                    throw error
                }
            }
        }
    }

    /// A wrong passphrase, the other kind of key, a damaged or cut archive and a non-empty target
    /// are refused with a clear error, and nothing is written.
    @Test(arguments: TestEngine.all)
    func wrongKeysDamageAndFullTargetsAreRefused(engine: TestEngine) async throws {
        try await withSource(engine) { source, api in
            let alice = try await api.register(username: "alice_1")
            let chat = try await api.createGroup(alice)
            try await api.post(alice, to: chat, "before the backup")
            let archive = source.media.path + "/backup.courier"
            try await source.maker().backup(to: archive, secret: Self.passphrase)
            await #expect(throws: BackupError.self) { try await source.maker().backup(to: archive, secret: Self.passphrase) }
            let restorer = BackupRestorer(logger: TestEngine.logger)
            #expect(try await restorer.verify(archive, secret: Self.passphrase).counts["messages"] == 1)

            func refusal(_ path: String, _ secret: BackupSecret) async -> String {
                do {
                    _ = try await restorer.verify(path, secret: secret)
                    return "accepted"
                } catch {
                    return "\(error)"
                }
            }
            #expect(await refusal(archive, try .fromPassphrase("not the passphrase at all")).contains("does not open"))
            let keyFile = source.media.path + "/backup.key"
            try Data(Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString().utf8).write(to: URL(fileURLWithPath: keyFile))
            #expect(await refusal(archive, try .keyFile(at: keyFile)).contains("passphrase"))

            let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
            let cut = source.media.path + "/cut.courier"
            try bytes.prefix(bytes.count - 40).write(to: URL(fileURLWithPath: cut))
            #expect(await refusal(cut, Self.passphrase).contains("damaged"))
            var flipped = bytes
            flipped[bytes.count / 2] ^= 0x01
            let damaged = source.media.path + "/damaged.courier"
            try flipped.write(to: URL(fileURLWithPath: damaged))
            #expect(await refusal(damaged, Self.passphrase).contains("damaged"))

            try await withRestoreTarget(engine, schema: source.location.schema) { target, _ in
                // A damaged archive writes nothing, not even the key file.
                await #expect(throws: BackupError.self) { try await restorer.restore(damaged, secret: Self.passphrase, into: target) }
                #expect(!FileManager.default.fileExists(atPath: target.masterKeyPath))
                try await restorer.restore(archive, secret: Self.passphrase, into: target)
                // A second restore into the now full target is refused.
                await #expect(throws: BackupError.self) { try await restorer.restore(archive, secret: Self.passphrase, into: target) }
            }
        }
    }

    /// A restore never replaces the data of a folder a server is using; a backup whose media store
    /// is not the server's fails instead of writing an archive without media; an archive without a
    /// database or master key, or with an entry this version does not know, is refused before
    /// anything is written.
    @Test(arguments: TestEngine.all)
    func restoresAndBackupsRefuseWhatWouldLoseData(engine: TestEngine) async throws {
        try await withSource(engine) { source, api in
            let alice = try await api.register(username: "alice_1")
            let chat = try await api.createGroup(alice)
            let media = try await api.uploadMedia(Array(repeating: 1, count: 2000), by: alice)
            _ = try await api.sendMessage(alice, to: chat, "a file", extra: ["attachments": [media], "message_type": nil])
            let restorer = BackupRestorer(logger: TestEngine.logger)

            // The wrong media store: the backup fails and leaves no archive.
            let elsewhere = try TemporaryFolder()
            var wrong = source.maker().source
            wrong.blobs = try FolderBlobStore(folder: elsewhere.path + "/media")
            let lost = elsewhere.path + "/lost.courier"
            await #expect(throws: BackupError.self) { try await BackupMaker(source: wrong, logger: TestEngine.logger).backup(to: lost, secret: Self.passphrase) }
            #expect(!FileManager.default.fileExists(atPath: lost))
            #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).allSatisfy { !$0.contains("partial") })

            let archive = source.media.path + "/backup.courier"
            try await source.maker().backup(to: archive, secret: Self.passphrase)
            try await withRestoreTarget(engine, schema: source.location.schema) { target, _ in
                // A server holds the folder's lock: the restore is refused and writes nothing.
                try FileManager.default.createDirectory(atPath: target.dataDirectory, withIntermediateDirectories: true)
                let serving = try #require(try DataFolderLock(path: DataFolderLock.path(in: target.dataDirectory), mode: .shared))
                var refusal = ""
                do { try await restorer.restore(archive, secret: Self.passphrase, into: target) } catch { refusal = "\(error)" }
                #expect(refusal.contains("stop it"), "\(refusal)")
                #expect(!FileManager.default.fileExists(atPath: target.masterKeyPath))
                withExtendedLifetime(serving) {}
            }

            // A --force restore that fails at its last step leaves what was there: the media files
            // the folder already had, and (SQLite) the database it had.
            try await withRestoreTarget(engine, schema: source.location.schema) { target, openRestored in
                try await restorer.restore(archive, secret: Self.passphrase, into: target)
                let mediaFiles = { FileManager.default.enumerator(atPath: target.dataDirectory + "/media")?.allObjects.count ?? 0 }
                let before = mediaFiles()
                #expect(before > 0)
                let anchor = target.dataDirectory + "/audit-anchor"
                try FileManager.default.removeItem(atPath: anchor)
                try FileManager.default.createDirectory(atPath: anchor + "/blocked", withIntermediateDirectories: true)
                var forced = target
                forced.overwrite = true
                await #expect(throws: (any Error).self) { try await restorer.restore(archive, secret: Self.passphrase, into: forced) }
                #expect(mediaFiles() == before, "a failed restore removed media that were there")
                let restored = try await openRestored()
                #expect(try await restored.engine.read { try await $0.raw("SELECT COUNT(*) AS n FROM messages").first()?.decode(column: "n", as: Int.self) } == 1)
                try await restored.engine.close()
            }

            // Archives a key holder could make by hand: no database, no master key, an unknown entry.
            let bytes = Data("x".utf8)
            for (name, entries) in [
                ("no-database", [(BackupLayout.masterKey, bytes)]),
                ("no-key", [(engine == .sqlite ? BackupLayout.sqliteDatabase : BackupLayout.postgresDump, bytes)]),
                ("unknown", [(BackupLayout.masterKey, bytes), ("files/../escape", bytes)]),
                ("newer", [(BackupLayout.masterKey, bytes), ("settings/new-thing", bytes)]),
            ] {
                let crafted = source.media.path + "/\(name).courier"
                let writer = try BackupArchiveWriter(path: crafted, secret: Self.passphrase, engine: engine.rawValue, createdAt: 0)
                for (entry, contents) in entries { try writer.add(entry, contents: contents) }
                try writer.finish(BackupManifest(
                    formatVersion: 1, createdAt: 0, engine: engine.rawValue, schemaVersion: 9, counts: [:], entries: writer.entries,
                    media: writer.mediaSummary(missingChunks: 0)
                ))
                await #expect(throws: BackupError.self, "\(name)") { try await restorer.verify(crafted, secret: Self.passphrase) }
                try await withRestoreTarget(engine, schema: source.location.schema) { target, _ in
                    await #expect(throws: BackupError.self, "\(name)") { try await restorer.restore(crafted, secret: Self.passphrase, into: target) }
                    #expect(!BackupRestorer.holdsFiles(target.dataDirectory), "\(name) left files behind")
                }
            }
        }
    }

    // MARK: - Comparing a restored copy with its original

    struct MessageRow: Equatable {
        let chatID: UUID
        let seq: Int64
        let content: String
        let updatedAt: Int64
    }

    static func messageRows(_ store: Store) async throws -> [UUID: MessageRow] {
        try await store.engine.read { sql in
            var rows: [UUID: MessageRow] = [:]
            for row in try await sql.raw("SELECT id, chat_id, seq, content, updated_at FROM messages").all() {
                rows[try row.decode(column: "id", as: UUID.self)] = MessageRow(
                    chatID: try row.decode(column: "chat_id", as: UUID.self), seq: try row.decode(column: "seq", as: Int64.self),
                    content: try row.decode(column: "content", as: String.self), updatedAt: try row.decode(column: "updated_at", as: Int64.self)
                )
            }
            return rows
        }
    }

    /// (scope, pts) → a row's identity, for both update logs.
    static func updateRows(_ store: Store) async throws -> [String: String] {
        try await store.engine.read { sql in
            var rows: [String: String] = [:]
            for row in try await sql.raw("SELECT chat_id, pts, kind, message_id, created_at FROM chat_updates").all() {
                let key = "chat/\(try row.decode(column: "chat_id", as: UUID.self))/\(try row.decode(column: "pts", as: Int64.self))"
                rows[key] = "\(try row.decode(column: "kind", as: String.self)) \(String(describing: try row.decode(column: "message_id", as: UUID?.self))) \(try row.decode(column: "created_at", as: Int64.self))"
            }
            for row in try await sql.raw("SELECT user_id, pts, kind, chat_id, created_at FROM account_updates").all() {
                let key = "account/\(try row.decode(column: "user_id", as: UUID.self))/\(try row.decode(column: "pts", as: Int64.self))"
                rows[key] = "\(try row.decode(column: "kind", as: String.self)) \(String(describing: try row.decode(column: "chat_id", as: UUID?.self))) \(try row.decode(column: "created_at", as: Int64.self))"
            }
            return rows
        }
    }

    static func memberRows(_ store: Store) async throws -> Set<String> {
        try await store.engine.read { sql in
            Set(try await sql.raw("SELECT chat_id, user_id, role FROM chat_members").all().map {
                "\(try $0.decode(column: "chat_id", as: UUID.self)) \(try $0.decode(column: "user_id", as: UUID.self)) \(try $0.decode(column: "role", as: String.self))"
            })
        }
    }

    static func compare(original: Store, restored: Store, manifest: BackupManifest, backupWindow: ClosedRange<Timestamp>) async throws {
        // The manifest counted the snapshot the copy was made of.
        let counts = try await restored.engine.read { try await BackupContentsProbe.counts($0) }
        for (table, count) in counts { #expect(manifest.counts[table] == count, "\(table)") }

        let before = try await messageRows(original), after = try await messageRows(restored)
        #expect(!after.isEmpty && after.count <= before.count)
        var seqs: [UUID: [Int64]] = [:]
        for (id, row) in after {
            let now = try #require(before[id], "a restored message the original never had")
            #expect(row.chatID == now.chatID && row.seq == now.seq)
            if row.updatedAt == now.updatedAt {
                #expect(row.content == now.content, "the same version of \(id) differs")
            } else {
                // Edited after the snapshot: the copy holds the version of the backup's moment.
                #expect(row.updatedAt < now.updatedAt && row.updatedAt <= backupWindow.upperBound.milliseconds)
            }
            seqs[row.chatID, default: []].append(row.seq)
        }
        for (chat, list) in seqs { #expect(list.sorted() == Array(1...Int64(list.count)), "messages of \(chat) have a gap") }

        let updatesBefore = try await updateRows(original), updatesAfter = try await updateRows(restored)
        var positions: [String: [Int64]] = [:]
        for (key, value) in updatesAfter {
            #expect(updatesBefore[key] == value, "update \(key) differs")
            let scope = String(key[..<key.lastIndex(of: "/")!])
            positions[scope, default: []].append(Int64(key[key.index(after: key.lastIndex(of: "/")!)...])!)
        }
        for (scope, list) in positions {
            let sorted = list.sorted()
            #expect(sorted == Array(sorted[0]...sorted[0] + Int64(list.count) - 1), "the update log of \(scope) has a gap")
        }
        #expect(try await memberRows(original) == memberRows(restored))
    }

    /// Every ready file of the copy, downloaded from a server started on it, has the original's bytes.
    static func mediaMatch(original: APIClient, restored: Store, target: BackupRestorer.Target, users: [SignedInUser]) async throws {
        // Each file as its uploader fetches it: one uploaded just before the snapshot may be
        // attached to a message only after it, so only its owner sees it in the copy.
        let files = try await restored.engine.read { sql in
            try await sql.raw("SELECT m.id, m.owner_id FROM media m WHERE m.state = 'ready'").all().map {
                (try $0.decode(column: "id", as: UUID.self), try $0.decode(column: "owner_id", as: UUID.self))
            }
        }
        let ids = files.map(\.0)
        #expect(!ids.isEmpty)
        let services = try await AppServices(store: restored, jwtSecret: testJWTSecret, bcryptCost: 4, blobs: target.blobs, mediaWorkFolder: target.dataDirectory + "/work")
        let app = Application(router: buildRouter(services: services), logger: TestEngine.logger)
        try await app.test(.router) { client in
            for (id, owner) in files {
                let user = try #require(users.first { UUID(uuidString: $0.id) == owner })
                let path = "/api/v1/media/\(id.uuidString.lowercased())/content"
                let a = try await original.download(path, token: user.token)
                let b = try await APIClient(client: client).download(path, token: user.token)
                #expect(a.status == .ok && b.status == .ok, "\(id): \(a.status) \(b.status)")
                #expect(MediaFixtures.sha256(a.bytes) == MediaFixtures.sha256(b.bytes), "\(id) differs")
            }
        }
    }
}

/// Counts rows the way the manifest does.
enum BackupContentsProbe {
    static func counts(_ sql: any SQLDatabase) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in BackupMaker.countedTables {
            counts[table] = try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()?.decode(column: "n", as: Int.self) ?? 0
        }
        return counts
    }
}

/// Message ids the server acknowledged, with when.
actor AcknowledgedWrites {
    private var writes: [(id: String, at: Timestamp)] = []

    var count: Int { writes.count }
    /// Set when the load should end (cancelling would cut requests off halfway).
    private(set) var stopped = false

    func stop() { stopped = true }

    func add(_ id: String, at time: Timestamp) { writes.append((id, time)) }

    func before(_ time: Timestamp) -> [UUID] {
        writes.filter { $0.at < time }.compactMap { UUID(uuidString: $0.id) }
    }

    func waitFor(count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while writes.count < count {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
