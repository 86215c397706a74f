import CourierServer
import CourierStore
import Foundation
import Logging
import Testing

/// What a hostile user found, each kept fixed.
@Suite("Hardening")
struct HardeningTests {
    @Test(arguments: TestEngine.all)
    func aClientMessageIDReusedInAnotherChatIsAConflictNotA500(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let first = try await api.createGroup(alice, name: "First")
            let second = try await api.createGroup(alice, name: "Second")
            let sent = try await api.sendMessage(alice, to: first, "hello", extra: ["client_msg_id": "m-1"])
            #expect(sent.status == .created)
            // A retry in the same chat gets the first message back.
            let retry = try await api.sendMessage(alice, to: first, "hello", extra: ["client_msg_id": "m-1"])
            #expect(retry.status == .ok)
            #expect(try retry.string("id") == (try sent.string("id")))
            // The same id in another chat is a client bug, said as such.
            let elsewhere = try await api.sendMessage(alice, to: second, "hello", extra: ["client_msg_id": "m-1"])
            #expect(elsewhere.status == .conflict)
            #expect(elsewhere.errorCode == "client_msg_id_reused")
            #expect(elsewhere.errorField == "client_msg_id")
            #expect(try await api.history(alice, second).messages.isEmpty)
        }
    }

    @Test(arguments: TestEngine.all)
    func theSignInLockHoldsTheAccountWhateverNameIsTried(engine: TestEngine) async throws {
        let limits = RateLimitSettings(loginPerIP: .init(1000, per: 60), loginFailuresPerAccount: .init(3, per: 900))
        try await withTestApp(engine, rateLimits: limits) { api, _ in
            try await api.register(username: "alice_1", phone: "+15550000001", email: "alice@example.com")
            for _ in 0..<3 {
                let wrong = try await api.send(.post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "not it at all"])
                #expect(wrong.status == .unauthorized)
            }
            for identifier in [["phone": "+15550000001"], ["email": "alice@example.com"], ["username": "alice_1"]] {
                let right = try await api.send(.post, "/api/v1/auth/login", json: identifier.merging(["password": "correct horse battery"]) { $1 })
                #expect(right.status == .tooManyRequests, "\(identifier)")
                #expect(right.headers[.retryAfter] != nil)
            }
            // Somebody else's account is not locked by it.
            try await api.register(username: "bob_12")
            #expect(try await api.send(.post, "/api/v1/auth/login", json: ["username": "bob_12", "password": "correct horse battery"]).status == .ok)
        }
    }

    @Test(arguments: TestEngine.all)
    func turningTwoFactorOffCountsAndAuditsWrongPasswords(engine: TestEngine) async throws {
        let limits = RateLimitSettings(user: .init(10_000, per: 60), loginFailuresPerAccount: .init(3, per: 900))
        try await withTestApp(engine, rateLimits: limits) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let setup = try await api.send(.post, "/api/v1/auth/2fa/setup", token: alice.token)
            let key = try #require(TwoFactorTests.key(fromURI: try setup.string("otpauth_uri")))
            let step = Int64(Date().timeIntervalSince1970) / 30
            #expect(try await api.send(.post, "/api/v1/auth/2fa/confirm", json: ["code": TwoFactorTests.code(key, step: step)], token: alice.token).status == .ok)

            for _ in 0..<3 {
                let guess = try await api.send(.post, "/api/v1/auth/2fa/disable", json: ["password": "a guess!!", "code": "123456"], token: alice.token)
                #expect(guess.status == .unauthorized)
            }
            // Locked now, even with the right password and code.
            let right = try await api.send(
                .post, "/api/v1/auth/2fa/disable", json: ["password": "correct horse battery", "code": TwoFactorTests.code(key, step: step + 1)],
                token: alice.token
            )
            #expect(right.status == .tooManyRequests)
            #expect(try await api.send(.get, "/api/v1/auth/2fa", token: alice.token)["enabled"] as? Bool == true)
            // And sign-in shares the lock.
            #expect(try await api.send(.post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "correct horse battery"]).status == .tooManyRequests)

            let audit = try await api.send(.get, "/api/v1/audit?limit=50", token: alice.token)
            let failures = (audit["entries"] as? [[String: Any]] ?? []).filter {
                $0["action"] as? String == "two_factor_disabled" && $0["outcome"] as? String == "failure"
            }
            #expect(failures.count == 3)
        }
    }

    @Test(arguments: TestEngine.all)
    func requestsWithoutAValidTokenAreLimitedPerAddress(engine: TestEngine) async throws {
        let limits = RateLimitSettings(unauthenticatedPerIP: .init(5, per: 60))
        try await withTestApp(engine, rateLimits: limits) { api, _ in
            for _ in 0..<5 {
                #expect(try await api.send(.get, "/api/v1/users/me", token: "forged.token.here").status == .unauthorized)
            }
            let flooded = try await api.send(.get, "/api/v1/users/me", token: "forged.token.here")
            #expect(flooded.status == .tooManyRequests)
            #expect(flooded.headers[.retryAfter] != nil)
            // Bogus refresh tokens share the budget.
            let refresh = try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": "bogus"])
            #expect(refresh.status == .tooManyRequests)
            // Someone else behind the same address, with a good token, is not held up by the flood.
            let alice = try await api.register(username: "alice_1")
            #expect(try await api.send(.get, "/api/v1/users/me", token: alice.token).status == .ok)
        }
    }

    @Test func signingOutIsNeverRateLimited() async throws {
        // A thief flooding with a stolen token spends the account's budget; its owner can still
        // sign that device out.
        let limits = RateLimitSettings(user: .init(3, per: 60))
        try await withTestApp(.sqlite, rateLimits: limits) { api, _ in
            let thief = try await api.register(username: "alice_1")
            let owner = try SignedInUser(try await api.send(.post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "correct horse battery"]))
            for _ in 0..<3 { _ = try await api.send(.get, "/api/v1/users/me", token: thief.token) }
            #expect(try await api.send(.get, "/api/v1/users/me", token: owner.token).status == .tooManyRequests)
            #expect(try await api.send(.delete, "/api/v1/auth/sessions/\(thief.sessionID)", token: owner.token).status == .noContent)
            #expect(try await api.send(.get, "/api/v1/users/me", token: thief.token).status == .unauthorized)
            #expect(try await api.send(.post, "/api/v1/auth/logout", token: owner.token).status == .noContent)
        }
    }

    @Test func requestsThatSucceedWithoutATokenCostNothingOfThatBudget() async throws {
        // People behind one address (an office, a proxy) sign up and sign in without using up the
        // budget that throttles refused requests.
        let limits = RateLimitSettings(unauthenticatedPerIP: .init(2, per: 60))
        try await withTestApp(.sqlite, rateLimits: limits) { api, _ in
            for index in 0..<5 {
                let user = try await api.register(username: "person_\(index)")
                let refreshed = try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": user.refreshToken])
                #expect(refreshed.status == .ok)
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func channelPostsBelongToTheChannelsCurrentAdmins(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            let editor = try await api.register(username: "editor_1")
            let channel = try await api.createChannel(owner)
            #expect(try await api.send(.post, "/api/v1/channels/\(channel)/subscribe", token: editor.token).status == .ok)
            #expect(try await api.send(.patch, "/api/v1/chats/\(channel)/members/\(editor.id)", json: ["role": "admin"], token: owner.token).status == .ok)
            let post = try await api.send(.post, "/api/v1/channels/\(channel)/posts", json: ["content": "by the editor"], token: editor.token)
            let postID = try post.string("id")
            let other = try await api.send(.post, "/api/v1/channels/\(channel)/posts", json: ["content": "by the owner"], token: owner.token)
            // Admins edit the channel's posts, also those of others.
            #expect(try await api.send(.patch, "/api/v1/messages/\(try other.string("id"))", json: ["content": "edited by the editor"], token: editor.token).status == .ok)

            #expect(try await api.send(.patch, "/api/v1/chats/\(channel)/members/\(editor.id)", json: ["role": "subscriber"], token: owner.token).status == .ok)
            let edit = try await api.send(.patch, "/api/v1/messages/\(postID)", json: ["content": "still mine?"], token: editor.token)
            #expect(edit.status == .forbidden)
            let delete = try await api.send(.delete, "/api/v1/messages/\(postID)?for=everyone", token: editor.token)
            #expect(delete.status == .forbidden)
            #expect(try await api.send(.patch, "/api/v1/messages/\(postID)", json: ["content": "the owner's now"], token: owner.token).status == .ok)
            #expect(try await api.send(.delete, "/api/v1/messages/\(postID)?for=everyone", token: owner.token).status == .noContent)
        }
    }

    @Test func secretsLeftReadableByOthersAreNarrowedOnStart() async throws {
        let folder = try TemporaryFolder()
        let configuration = ServerConfiguration(dataDirectory: folder.path + "/data", bcryptCost: 4)
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        let secret = String(repeating: "s", count: 64)
        FileManager.default.createFile(atPath: configuration.jwtSecretPath, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o644])
        let logger = Logger(label: "test")
        let store = try await openStore(configuration: configuration, logger: logger)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: configuration.masterKeyPath)
        try await store.engine.close()
        let reopened = try await openStore(configuration: configuration, logger: logger)
        _ = try await buildApplication(configuration: configuration, store: reopened, logger: logger)
        for path in [configuration.jwtSecretPath, configuration.masterKeyPath] {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0, "\(path) has mode \(String(mode, radix: 8))")
        }
        try await reopened.engine.close()
    }

    @Test func secretAndDatabaseFilesAreTheOwnersOnly() async throws {
        let folder = try TemporaryFolder()
        let previous = umask(0o022)
        defer { umask(previous) }
        let configuration = ServerConfiguration(dataDirectory: folder.path + "/data", bcryptCost: 4)
        let logger = Logger(label: "test")
        let store = try await openStore(configuration: configuration, logger: logger)
        _ = try await buildApplication(configuration: configuration, store: store, logger: logger)
        try await store.audit.append(.init(action: "test_event"))
        for name in ["courier.sqlite", "courier.sqlite-wal", "courier.sqlite-shm", "master.key", "jwt-secret", "audit-anchor"] {
            let path = configuration.dataDirectory + "/" + name
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int, "\(name)")
            #expect(mode & 0o077 == 0, "\(name) has mode \(String(mode, radix: 8))")
        }
        let folderMode = try #require(try FileManager.default.attributesOfItem(atPath: configuration.dataDirectory)[.posixPermissions] as? Int)
        #expect(folderMode & 0o077 == 0)
        try await store.engine.close()
    }

    @Test func privateFilesRefuseWhatIsAlreadyThere() throws {
        let folder = try TemporaryFolder()
        let target = folder.path + "/elsewhere"
        let planted = folder.path + "/secret"
        try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: target)
        #expect(throws: PrivateFileError.self) { try PrivateFile.create(at: planted, contents: Data("x".utf8)) }
        #expect(!FileManager.default.fileExists(atPath: target))
    }
}
