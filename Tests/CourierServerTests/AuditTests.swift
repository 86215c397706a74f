@testable import CourierStore
import Foundation
import Testing

@testable import CourierServer

@Suite("Audit log")
struct AuditTests {
    @Test(arguments: TestEngine.all)
    func securityEventsAreRecordedAndShownToTheirOwner(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            _ = try await api.send(.post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "wrong one!"])
            let refreshed = try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": alice.refreshToken])
            _ = try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": alice.refreshToken])
            let login = try SignedInUser(try await api.send(.post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "correct horse battery"]))
            let chat = try await api.createGroup(bob, members: [try #require(Optional(login))])
            _ = try await api.send(.patch, "/api/v1/chats/\(chat)", json: ["name": "Mine"], token: login.token)
            _ = refreshed

            let mine = try await api.send(.get, "/api/v1/audit?limit=50", token: login.token)
            #expect(mine.status == .ok)
            let entries = try #require(mine["entries"] as? [[String: Any]])
            let actions = entries.map { "\($0["action"] as? String ?? "")/\($0["outcome"] as? String ?? "")" }
            for expected in ["register/success", "login/failure", "token_refresh/success", "refresh_token_reuse/denied", "login/success", "access_denied/denied"] {
                #expect(actions.contains(expected), "\(expected) in \(actions)")
            }
            #expect(entries.allSatisfy { ($0["subject_id"] as? String) == alice.id })
            #expect(!String(describing: entries).contains("correct horse"))
            let denial = try #require(entries.first { $0["action"] as? String == "access_denied" })
            #expect((denial["details"] as? [String: String])?["route"]?.contains("chats") == true)

            #expect(try await api.send(.get, "/api/v1/audit?all=true", token: login.token).status == .forbidden)
            _ = try await services.store.users.setServerAdmin(try .init("bob_12"), true)
            let everything = try await api.send(.get, "/api/v1/audit?all=true&limit=100", token: bob.token)
            #expect(Set((everything["entries"] as? [[String: Any]])?.compactMap { $0["subject_id"] as? String } ?? []) == [alice.id, bob.id])
            let page = try await api.send(.get, "/api/v1/audit?limit=2", token: login.token)
            #expect((page["entries"] as? [[String: Any]])?.count == 2)
            #expect(page["has_more"] as? Bool == true)
        }
    }

    @Test(arguments: TestEngine.all)
    func theChainDetectsChangedAndRemovedEntries(engine: TestEngine) async throws {
        try await engine.withStore { store in
            for index in 1...5 { try await store.audit.append(.init(action: "test_event", details: ["n": String(index)])) }
            #expect(try await store.audit.verify() == .init(entries: 5, firstBrokenSeq: nil, anchor: .matches(seq: 5)))

            try await store.engine.write { try await $0.raw(#"UPDATE audit_log SET details = '{"n":"9"}' WHERE seq = 3"#).run() }
            #expect(try await store.audit.verify().firstBrokenSeq == 3)
            try await store.engine.write { try await $0.raw(#"UPDATE audit_log SET details = '{"n":"3"}' WHERE seq = 3"#).run() }
            #expect(try await store.audit.verify().firstBrokenSeq == nil)

            try await store.engine.write { try await $0.raw("DELETE FROM audit_log WHERE seq = 2").run() }
            #expect(try await store.audit.verify().firstBrokenSeq == 3)
        }
    }

    @Test(arguments: TestEngine.all)
    func concurrentAppendsKeepOneChain(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask { try await store.audit.append(.init(action: "concurrent", details: ["n": String(index)])) }
                }
                try await group.waitForAll()
            }
            #expect(try await store.audit.verify() == .init(entries: 40, firstBrokenSeq: nil, anchor: .matches(seq: 40)))
        }
    }

    @Test(arguments: TestEngine.all)
    func rechainingWithoutTheKeyIsDetected(engine: TestEngine) async throws {
        try await engine.withStore { store in
            for index in 1...5 { try await store.audit.append(.init(action: "test_event", details: ["n": String(index)])) }
            // Someone with write access to the database but not the key file changes entry 3 and
            // recomputes every hash after it, as the old plain SHA-256 chain allowed.
            try await store.engine.write { sql in
                try await sql.raw(#"UPDATE audit_log SET details = '{"n":"9"}' WHERE seq = 3"#).run()
            }
            let rows = try await store.audit.entries(about: nil, limit: 10, before: nil).sorted { $0.seq < $1.seq }
            var previous = rows[1].hash
            for var entry in rows[2...] {
                entry.previousHash = previous
                entry.hash = AuditStore.plainHash(of: entry)
                previous = entry.hash
                let sealed = entry
                try await store.engine.write { sql in
                    try await sql.raw("UPDATE audit_log SET prev_hash = \(bind: sealed.previousHash), hash = \(bind: sealed.hash) WHERE seq = \(bind: sealed.seq)").run()
                }
            }
            let result = try await store.audit.verify()
            #expect(result.firstBrokenSeq == 3)
            #expect(!result.isIntact)
        }
    }

    @Test(arguments: TestEngine.all)
    func removingTheNewestEntriesIsDetectedByTheAnchor(engine: TestEngine) async throws {
        try await engine.withStore { store in
            for index in 1...5 { try await store.audit.append(.init(action: "test_event", details: ["n": String(index)])) }
            try await store.engine.write { try await $0.raw("DELETE FROM audit_log WHERE seq >= 4").run() }
            let result = try await store.audit.verify()
            #expect(result.firstBrokenSeq == nil)
            #expect(result.anchor == .mismatch(seq: 5))
            #expect(!result.isIntact)
        }
    }

    @Test(arguments: TestEngine.all)
    func aChangedAnchorIsDetected(engine: TestEngine) async throws {
        try await engine.withStore { store in
            for index in 1...5 { try await store.audit.append(.init(action: "test_event", details: ["n": String(index)])) }
            // Pointing the anchor at an older entry, to hide the removal of the newest ones.
            let path = try #require(store.audit.anchor?.path)
            var anchor = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
            let third = try await store.audit.entries(about: nil, limit: 10, before: nil).first { $0.seq == 3 }
            anchor["seq"] = 3
            anchor["hash"] = third?.hash
            try JSONSerialization.data(withJSONObject: anchor).write(to: URL(fileURLWithPath: path))
            try await store.engine.write { try await $0.raw("DELETE FROM audit_log WHERE seq >= 4").run() }
            let result = try await store.audit.verify()
            #expect(result.anchor == .forged)
            #expect(!result.isIntact)
        }
    }

    /// Rewrites every entry as the unkeyed log wrote them: plain SHA-256, key version 0.
    private static func downgrade(_ store: Store) async throws {
        var previous = String(repeating: "0", count: 64)
        for var entry in try await store.audit.entries(about: nil, limit: 100, before: nil).sorted(by: { $0.seq < $1.seq }) {
            entry.previousHash = previous
            entry.hash = AuditStore.plainHash(of: entry)
            previous = entry.hash
            let sealed = entry
            try await store.engine.write { sql in
                try await sql.raw("UPDATE audit_log SET prev_hash = \(bind: sealed.previousHash), hash = \(bind: sealed.hash), key_version = 0 WHERE seq = \(bind: sealed.seq)").run()
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func entriesFromBeforeTheKeyAreSealedOnceOnTheFirstStart(engine: TestEngine) async throws {
        try await engine.withStore { store in
            for index in 1...3 { try await store.audit.append(.init(action: "test_event", details: ["n": String(index)])) }
            // As an upgraded install finds them: unkeyed, counted by the migration, no anchor yet.
            try await Self.downgrade(store)
            try await store.engine.write { try await $0.raw("INSERT INTO audit_unsealed (head) VALUES (3)").run() }
            try FileManager.default.removeItem(atPath: try #require(store.audit.anchor?.path))
            #expect(try await store.audit.verify().firstBrokenSeq == 1)
            #expect(try await store.audit.sealUnkeyedEntries() == 3)
            #expect(try await store.audit.sealUnkeyedEntries() == 0)
            try await store.audit.append(.init(action: "after"))
            let result = try await store.audit.verify()
            #expect(result == .init(entries: 4, firstBrokenSeq: nil, anchor: .matches(seq: 4)))
        }
    }

    @Test(arguments: TestEngine.all)
    func entriesRewrittenAsUnkeyedAreNeverSealed(engine: TestEngine) async throws {
        try await engine.withStore { store in
            for index in 1...5 { try await store.audit.append(.init(action: "test_event", details: ["n": String(index)])) }
            // Someone with the database only rewrites the log in the old format, even marking it
            // for sealing: this node keeps an anchor, so the upgrade is behind it.
            try await store.engine.write { try await $0.raw(#"UPDATE audit_log SET ip_address = '203.0.113.66' WHERE seq = 3"#).run() }
            try await Self.downgrade(store)
            try await store.engine.write { try await $0.raw("INSERT INTO audit_unsealed (head) VALUES (5)").run() }
            #expect(try await store.audit.sealUnkeyedEntries() == 0)
            let result = try await store.audit.verify()
            #expect(result.firstBrokenSeq == 1)
            #expect(!result.isIntact)
        }
    }

    @Test(arguments: TestEngine.all)
    func movingTheAnchorAsideDoesNotLetUnkeyedEntriesBeSealed(engine: TestEngine) async throws {
        try await engine.withStore { store in
            // The node went through the upgrade once (its marker), then wrote sealed entries.
            #expect(try await store.audit.sealUnkeyedEntries() == 0)
            for index in 1...4 { try await store.audit.append(.init(action: "test_event", details: ["n": String(index)])) }
            try await Self.downgrade(store)
            try await store.engine.write { try await $0.raw("INSERT INTO audit_unsealed (head) VALUES (4)").run() }
            try FileManager.default.removeItem(atPath: try #require(store.audit.anchor?.path))
            #expect(try await store.audit.sealUnkeyedEntries() == 0)
            #expect(try await store.audit.verify().firstBrokenSeq == 1)
        }
    }

    @Test func verifyRefusesAnOldSchemaInsteadOfChangingIt() async throws {
        let folder = try TemporaryFolder()
        let configuration = ServerConfiguration(dataDirectory: folder.path, bcryptCost: 4)
        let engine = try await SQLiteEngine.open(path: configuration.sqlitePath, logger: TestEngine.logger)
        try await Migrator(engine: engine, migrations: Array(Schema.migrations.prefix(1))).migrate(logger: TestEngine.logger)
        try await engine.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: configuration.sqlitePath))
        await #expect(throws: ConfigurationError.self) {
            try await openStore(configuration: configuration, logger: TestEngine.logger, migrating: false)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: configuration.sqlitePath)) == before)
    }

    /// A database a newer courier migrated (a rollback, a node left behind) is refused: this one
    /// would write rows the newer one cannot read.
    @Test func aNewerSchemaIsRefused() async throws {
        let folder = try TemporaryFolder()
        let configuration = ServerConfiguration(dataDirectory: folder.path, bcryptCost: 4)
        try await openStore(configuration: configuration, logger: TestEngine.logger).engine.close()
        let engine = try await SQLiteEngine.open(path: configuration.sqlitePath, logger: TestEngine.logger)
        try await engine.write { try await $0.raw("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 0)").run() }
        try await engine.close()
        var refusal = ""
        do { try await openStore(configuration: configuration, logger: TestEngine.logger).engine.close() } catch { refusal = "\(error)" }
        #expect(refusal.contains("newer than this courier"), "\(refusal)")
    }

    @Test(arguments: TestEngine.all)
    func aCutLogIsNotPaperedOverByNewEntries(engine: TestEngine) async throws {
        try await engine.withStore { store in
            for index in 1...5 { try await store.audit.append(.init(action: "test_event", details: ["n": String(index)])) }
            try await store.engine.write { try await $0.raw("DELETE FROM audit_log WHERE seq >= 4").run() }
            // A node does not start on it.
            await #expect(throws: ConfigurationError.self) { try await checkAuditLog(store, logger: TestEngine.logger) }
            // And a running one does not move its anchor onto the new chain, however long it goes on
            // (each entry is still written; each append reports the cut).
            for action in ["again 4", "again 5", "6", "7"] {
                await #expect(throws: AuditLogBehindAnchor.self) { try await store.audit.append(.init(action: action)) }
            }
            #expect(try await store.audit.verify().anchor == .mismatch(seq: 5))
        }
    }
}
