import CourierCore
import CourierServer
import CourierStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Encryption at rest")
struct EncryptionTests {
    /// Content sent with a random canary appears nowhere in the raw database (SQLite file and WAL,
    /// or a PostgreSQL dump), while the API returns it.
    @Test(arguments: TestEngine.all)
    func contentIsNotStoredInPlaintext(engine: TestEngine) async throws {
        let canary = "canary-" + UUID().uuidString
        try await engine.withDatabase { store, location in
            try await Self.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let chat = try await api.createGroup(alice)
                let id = try await api.post(alice, to: chat, "text \(canary) text")
                _ = try await api.sendMessage(alice, to: chat, "", extra: [
                    "message_type": "image", "media_url": "https://example.com/\(canary).jpg", "metadata": ["note": canary],
                ])
                let other = try await api.post(alice, to: chat, "to be edited")
                _ = try await api.send(.patch, "/api/v1/messages/\(other)", json: ["content": "edited \(canary)"], token: alice.token)
                let read = try await api.send(.get, "/api/v1/messages/\(id)", token: alice.token)
                #expect((read["content"] as? String)?.contains(canary) == true)
                let page = try await api.history(alice, chat)
                #expect(page.messages.filter { ($0["content"] as? String)?.contains(canary) == true }.count == 2)
                #expect(page.messages.contains { ($0["media_url"] as? String)?.contains(canary) == true })
            }
            let raw = try await Self.rawDatabase(store, location)
            // The scan sees real data: the (unencrypted) username is there.
            #expect(raw.range(of: Data("alice_1".utf8)) != nil)
            #expect(raw.range(of: Data(canary.utf8)) == nil, "the canary is stored in plaintext")
            #expect(raw.range(of: Data("to be edited".utf8)) == nil)
        }
    }

    /// Phone numbers, e-mail addresses, bios, chat and channel names and descriptions and file names
    /// appear nowhere in the raw database (SQLite file and WAL, or a `pg_dump`), nor in a backup
    /// archive, while the API returns them and sign-in and look-ups by phone and e-mail work through
    /// their blind indexes, which still refuse a second account with the same phone or e-mail.
    @Test(arguments: TestEngine.all)
    func metadataIsNotStoredInPlaintext(engine: TestEngine) async throws {
        let tag = String(UUID().uuidString.prefix(8)).lowercased()
        let phone = "+1555" + String(format: "%07d", Int.random(in: 1_000_000...9_999_999))
        let canaries = [
            "phone": phone, "email": "canary-\(tag)@example.com", "bio": "bio-canary-\(tag)", "group": "group-canary-\(tag)",
            "renamed": "renamed-canary-\(tag)", "channel": "channel-canary-\(tag)", "description": "description-canary-\(tag)",
            "file": "file-canary-\(tag).pdf",
        ]
        try await engine.withDatabase { store, location in
            let folder = try TemporaryFolder()
            let blobs = try FolderBlobStore(folder: folder.path + "/media")
            try await Self.withApp(store, blobs: blobs) { api in
                let alice = try await api.register(username: "alice_1", phone: phone, email: canaries["email"])
                #expect(try await api.send(.patch, "/api/v1/users/me", json: ["bio": canaries["bio"]], token: alice.token).status == .ok)
                let group = try await api.createGroup(alice, name: canaries["group"]!)
                let other = try await api.createGroup(alice, name: "Plain")
                #expect(try await api.send(.patch, "/api/v1/chats/\(other)", json: ["name": canaries["renamed"]], token: alice.token).status == .ok)
                let channel = try await api.createChannel(alice, name: canaries["channel"]!, username: "canary_news")
                #expect(try await api.send(.patch, "/api/v1/channels/\(channel)", json: ["description": canaries["description"]], token: alice.token).status == .ok)
                let media = try await api.uploadMedia(Array("a file".utf8), by: alice, fileName: canaries["file"]!)
                _ = try await api.sendMessage(alice, to: group, "", extra: ["attachments": [media], "message_type": nil])

                // The API gives every value back.
                let me = try await api.send(.get, "/api/v1/users/me", token: alice.token)
                #expect(me["phone"] as? String == phone && me["email"] as? String == canaries["email"] && me["bio"] as? String == canaries["bio"])
                #expect(try await api.send(.get, "/api/v1/chats/\(group)", token: alice.token)["name"] as? String == canaries["group"])
                #expect(try await api.send(.get, "/api/v1/chats/\(other)", token: alice.token)["name"] as? String == canaries["renamed"])
                let shown = try await api.send(.get, "/api/v1/channels/\(channel)", token: alice.token)
                #expect(shown["description"] as? String == canaries["description"], "\(shown.json)")
                // Sign-in and look-up by phone and e-mail go through the blind indexes.
                for identifier in [["phone": phone], ["email": canaries["email"]!]] {
                    let login = try await api.send(.post, "/api/v1/auth/login", json: identifier.merging(["password": "correct horse battery"]) { a, _ in a })
                    #expect(login.status == .ok, "\(identifier): \(login.json)")
                }
                let bob = try await api.register(username: "bob_12")
                #expect(try await api.send(.get, "/api/v1/users?phone=\(phone.replacingOccurrences(of: "+", with: "%2B"))", token: bob.token)["id"] as? String == alice.id)
                // Uniqueness holds on the indexes.
                let again = try await api.send(.post, "/api/v1/auth/register", json: ["username": "carol_1", "phone": phone, "password": "correct horse battery"])
                #expect(again.status == .conflict && again.errorField == "phone", "\(again.json)")
                let sameEmail = try await api.send(.post, "/api/v1/auth/register", json: [
                    "username": "dave_1", "phone": APIClient.phone(for: "dave_1"), "email": canaries["email"], "password": "correct horse battery",
                ])
                #expect(sameEmail.status == .conflict && sameEmail.errorField == "email", "\(sameEmail.json)")
            }
            let raw = try await Self.rawDatabase(store, location)
            #expect(raw.range(of: Data("alice_1".utf8)) != nil, "the scan sees real data")
            for (field, canary) in canaries {
                #expect(raw.range(of: Data(canary.utf8)) == nil, "\(field) is stored in plaintext")
            }
            #expect(raw.range(of: Data(tag.utf8)) == nil, "part of a canary is stored in plaintext")

            // A backup archive holds none of them in clear either.
            let database: BackupDatabase = location.schema.map { .postgres(store.engine, url: TestEngine.postgresURL!, schema: $0) } ?? .sqlite(store.engine)
            let archive = folder.path + "/backup.courier"
            try await BackupMaker(source: .init(
                database: database, dataDirectory: (location.keyFile as NSString).deletingLastPathComponent, masterKeyPath: location.keyFile,
                blobs: blobs
            ), logger: TestEngine.logger).backup(to: archive, secret: try .fromPassphrase("correct horse battery staple"))
            let archived = try Data(contentsOf: URL(fileURLWithPath: archive))
            #expect(archived.count > 10_000)
            for (field, canary) in canaries { #expect(archived.range(of: Data(canary.utf8)) == nil, "\(field) is in the archive in clear") }
        }
    }

    /// Rows stored before metadata was sealed (schema version 8) are sealed once when the store is
    /// opened, and still found by phone and e-mail afterwards.
    @Test(arguments: TestEngine.all)
    func olderPlaintextRowsAreSealedOnce(engine: TestEngine) async throws {
        try await engine.withDatabase { store, location in
            let id = UUID(), chatID = UUID(), now = Timestamp.now().milliseconds
            try await store.engine.write { sql in
                try await sql.raw("""
                    INSERT INTO users (id, phone, email, password_hash, username, bio, is_premium, created_at, updated_at)
                    VALUES (\(bind: id), '+15550001234', 'old@example.com', 'x', 'old_user', 'an old bio', FALSE, \(bind: now), \(bind: now))
                    """).run()
                try await sql.raw("""
                    INSERT INTO chats (id, type, name, owner_id, last_seq, member_count, last_activity_at, created_at, updated_at)
                    VALUES (\(bind: chatID), 'channel', 'Old News', \(bind: id), 0, 0, \(bind: now), \(bind: now), \(bind: now))
                    """).run()
                try await sql.raw("""
                    INSERT INTO channels (id, username, description, created_at, updated_at) VALUES (\(bind: chatID), 'old_news', 'old description', \(bind: now), \(bind: now))
                    """).run()
            }
            // A row an older node inserted and this version then edited: its bio is sealed already.
            let edited = UUID()
            let sealedBio = try #require(try await store.keyring.seal("a new bio", .init(table: "users", rowID: edited, scope: .accounts, field: "bio")))
            try await store.engine.write { sql in
                try await sql.raw("""
                    INSERT INTO users (id, phone, password_hash, username, bio, is_premium, created_at, updated_at)
                    VALUES (\(bind: edited), '+15550004321', 'x', 'edited_user', \(bind: sealedBio), FALSE, \(bind: now), \(bind: now))
                    """).run()
            }
            let sealer = MetadataSealer(store: store, logger: TestEngine.logger)
            #expect(try await sealer.sealOlderRows() == 4)
            #expect(try await sealer.sealOlderRows() == 0)
            #expect(try await store.users.find(id: edited)?.bio == "a new bio")
            // The rewrite that clears free space ran, once.
            let pending = try await store.engine.read { sql in try await sql.raw("SELECT COUNT(*) AS n FROM maintenance_tasks").first()?.decode(column: "n", as: Int.self) }
            #expect(pending == 0)
            let user = try #require(try await store.users.find(.phone(try PhoneNumber("+15550001234"))))
            #expect(user.id == id && user.email?.value == "old@example.com" && user.bio == "an old bio")
            #expect(try await store.users.find(.email(try EmailAddress("old@example.com")))?.id == id)
            #expect(try await store.chats.find(id: chatID)?.name == "Old News")
            #expect(try await store.chats.channelInfo(chatID)?.description == "old description")
            let raw = try await Self.rawDatabase(store, location)
            for plain in ["+15550001234", "old@example.com", "an old bio", "Old News", "old description"] {
                #expect(raw.range(of: Data(plain.utf8)) == nil, "\(plain) is still in plaintext")
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func rotationKeepsOldAndNewContentReadable(engine: TestEngine) async throws {
        try await engine.withDatabase { store, location in
            let (alice, chat, before) = try await Self.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let chat = try await api.createGroup(alice)
                return (alice, chat, try await api.post(alice, to: chat, "before rotation"))
            }
            let rotation = try await KeyRotation.rotate(keyFile: location.keyFile, engine: store.engine)
            #expect(rotation.version == 2)
            // The chat's key, and the keys of accounts, chat names and blind indexes.
            #expect(rotation.rewrapped == 4)

            // A node starting after the rotation reads old content and writes new content.
            let rotated = Store(engine: store.engine, keyring: try await Keyring.open(keyFile: location.keyFile, engine: store.engine))
            try await Self.withApp(rotated) { api in
                #expect(try await api.send(.get, "/api/v1/messages/\(before)", token: alice.token)["content"] as? String == "before rotation")
                let second = try await api.createGroup(alice, name: "After")
                try await api.post(alice, to: second, "after rotation")
                #expect(try await api.history(alice, second).messages.first?["content"] as? String == "after rotation")
                #expect(try await api.history(alice, chat).messages.first?["content"] as? String == "before rotation")
            }
            let status = try await KeyRotation.status(keyFile: location.keyFile, engine: store.engine)
            #expect(status.current == 2)
            #expect(status.versions.map(\.version) == [1, 2])
            #expect(status.versions.first { $0.version == 2 }?.dataKeys == 5)
        }
    }

    /// A node that keeps running through `keys rotate` (another process) uses the new version for
    /// new data keys at once, and still opens data keys it never cached, now wrapped by it.
    @Test(arguments: TestEngine.all)
    func aRunningNodePicksUpARotationAtOnce(engine: TestEngine) async throws {
        try await engine.withDatabase { store, location in
            let running = Store(engine: store.engine, keyring: try await Keyring.open(keyFile: location.keyFile, engine: store.engine))
            try await Self.withApp(running) { api in
                let alice = try await api.register(username: "alice_1")
                let before = try await api.createGroup(alice, name: "Before")
                let message = try await api.post(alice, to: before, "before rotation")
                let rotation = try await KeyRotation.rotate(keyFile: location.keyFile, engine: store.engine)
                #expect(rotation.version == 2)
                let after = try await api.createGroup(alice, name: "After")
                try await api.post(alice, to: after, "after rotation")
                let versions = try await store.engine.read { sql in
                    try await sql.raw("SELECT master_version FROM data_keys").all().map { try $0.decode(column: "master_version", as: Int.self) }
                }
                #expect(!versions.isEmpty && versions.allSatisfy { $0 == 2 }, "\(versions)")
                // A node that never cached the old chat's key (a fresh keyring over the same file) reads it.
                let fresh = Store(engine: store.engine, keyring: try await Keyring.open(keyFile: location.keyFile, engine: store.engine))
                #expect(try await fresh.messages.find(id: UUID(uuidString: message)!)?.content == "before rotation")
                #expect(try await api.send(.get, "/api/v1/messages/\(message)", token: alice.token)["content"] as? String == "before rotation")
                #expect(try await running.audit.verify().firstBrokenSeq == nil)
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func aWrongOrMissingMasterKeyIsRefused(engine: TestEngine) async throws {
        try await engine.withDatabase { store, location in
            try await Self.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                try await api.post(alice, to: try await api.createGroup(alice), "secret")
            }
            let elsewhere = try TemporaryFolder()
            _ = try MasterKeyFile.create(path: elsewhere.path + "/other.key")
            await #expect(throws: KeyringError.self) {
                _ = try await Keyring.open(keyFile: elsewhere.path + "/other.key", engine: store.engine)
            }
            await #expect(throws: KeyringError.self) {
                _ = try await Keyring.open(keyFile: elsewhere.path + "/missing.key", engine: store.engine)
            }
            #expect(!FileManager.default.fileExists(atPath: elsewhere.path + "/missing.key"), "no new key was made for existing data")
            try Data("not a key file".utf8).write(to: URL(fileURLWithPath: elsewhere.path + "/garbage.key"))
            await #expect(throws: KeyringError.self) {
                _ = try await Keyring.open(keyFile: elsewhere.path + "/garbage.key", engine: store.engine)
            }
            let attributes = try FileManager.default.attributesOfItem(atPath: location.keyFile)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
    }

    @Test(arguments: TestEngine.all)
    func swappedCiphertextsAreDetected(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await Self.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let chat = try await api.createGroup(alice)
                let first = try await api.post(alice, to: chat, "first secret")
                let second = try await api.post(alice, to: chat, "second secret")
                guard let firstID = UUID(uuidString: first), let secondID = UUID(uuidString: second) else { return }
                // Someone with database access moves the second message's ciphertext onto the first.
                try await store.engine.write { sql in
                    let row = try await sql.raw("SELECT content FROM messages WHERE id = \(bind: secondID)").first()
                    let stolen = try row?.decode(column: "content", as: String.self) ?? ""
                    try await sql.raw("UPDATE messages SET content = \(bind: stolen) WHERE id = \(bind: firstID)").run()
                }
                let tampered = try await api.send(.get, "/api/v1/messages/\(first)", token: alice.token)
                #expect(tampered.status == .internalServerError)
                #expect(tampered.errorCode == "data_integrity_error")
                #expect(try await api.send(.get, "/api/v1/messages/\(second)", token: alice.token)["content"] as? String == "second secret")
            }
        }
    }

    /// Sealed text that is not `e1.<key id>.<base64>` of a box that opens is an integrity error,
    /// whatever its shape (cut, padded, multi-byte characters where the id goes); the text
    /// sealed opens again.
    @Test func malformedSealedTextIsAnIntegrityErrorNotACrash() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/courier.sqlite", logger: TestEngine.logger)
        try await Migrator(engine: engine).migrate(logger: TestEngine.logger)
        let keyring = try await Keyring.open(keyFile: folder.path + "/master.key", engine: engine)
        let context = Keyring.FieldContext(table: "users", rowID: UUID(), scope: .accounts, field: "email")
        let sealed = try #require(try await keyring.seal("hello", context))
        #expect(try await keyring.open(sealed, context) == "hello")
        let id = String(sealed.dropFirst(3).prefix(36))
        let box = String(sealed.dropFirst(40))
        var malformed: [String] = ["e1.", "e1", "x", String(sealed.dropLast(4)), String(sealed.dropFirst()), "e2" + String(sealed.dropFirst(2))]
        malformed.append("e1." + id)
        malformed.append("e1." + id + ".")
        malformed.append("e1." + id + "!" + box)
        malformed.append("e1." + String(id.dropLast()) + "é." + box)
        malformed.append("e1." + String(repeating: "é", count: 18) + "." + box)
        malformed.append("e1." + id + "." + box + ".x")
        malformed.append("e1." + id.uppercased() + "x." + box)
        for text in malformed {
            await #expect(throws: CourierError.self, "\(text)") { _ = try await keyring.open(text, context) }
        }
        // The key id in capitals is the same id.
        #expect(try await keyring.open("e1." + id.uppercased() + "." + box, context) == "hello")
        try await engine.close()
    }

    static func withApp<T: Sendable>(_ store: Store, blobs: (any BlobStore)? = nil, _ body: @Sendable (APIClient) async throws -> T) async throws -> T {
        let services = try await AppServices(store: store, jwtSecret: testJWTSecret, bcryptCost: 4, blobs: blobs, logger: TestEngine.logger)
        let app = Application(router: buildRouter(services: services), logger: TestEngine.logger)
        return try await app.test(.router) { client in try await body(APIClient(client: client)) }
    }

    /// Every byte the engine keeps: the SQLite file with its WAL, or a `pg_dump` of the test schema.
    static func rawDatabase(_ store: Store, _ location: TestEngine.Location) async throws -> Data {
        if let path = location.sqlitePath {
            return [path, path + "-wal", path + "-shm"].compactMap { FileManager.default.contents(atPath: $0) }.reduce(Data(), +)
        }
        let url = try #require(TestEngine.postgresURL)
        let schema = try #require(location.schema)
        let bin = try #require(try FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql").sorted().last)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/lib/postgresql/\(bin)/bin/pg_dump")
        process.arguments = ["-h", url.host, "-p", String(url.port), "-U", url.username, "-n", schema, url.database ?? "postgres"]
        let (status, data) = try await ChildProcess.output(of: process)
        try #require(status == 0)
        return data
    }
}
