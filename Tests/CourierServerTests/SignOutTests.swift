import AsyncHTTPClient
import CourierClient
import CourierRealtime
import CourierServer
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

/// A live socket lives no longer than the access that opened it.
@Suite("Sockets end with their sessions")
struct SignOutTests {
    @Test(arguments: TestEngine.all)
    func logoutSignOutOfADeviceAndRefreshReuseCloseTheirSocketsAtOnce(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let alice = try await client.signUp("alice_1")
            let bob = try await client.signUp("bob_12")
            let chat = try await client.createGroup(named: "Team", members: [bob.user.id], token: alice.token)

            // Logout: the socket of that session closes with 4001 (at once: it is pushed, not
            // polled; the time it takes is measured outside the suite, which may run slowly).
            let phone = await TestDevice(client, token: alice.token)
            try await phone.ready()
            #expect(try await Live.call(client, .POST, "/api/v1/auth/logout", token: alice.token).status == 204)
            #expect(try await phone.recorder.waitForClose(seconds: 10) == ConnectionCloseReason.sessionRevoked.code)
            // The client stops instead of knocking with dead tokens.
            try await phone.recorder.waitForSignOut()
            #expect(await phone.recorder.connects == 1)
            await phone.stop()

            // "Sign out that device" from another one.
            let laptop = try await client.login(username: "alice_1", password: "correct horse battery")
            let tablet = try await client.login(username: "alice_1", password: "correct horse battery")
            let tabletDevice = await TestDevice(client, token: tablet.token)
            let laptopDevice = await TestDevice(client, token: laptop.token)
            try await tabletDevice.ready()
            try await laptopDevice.ready()
            let tabletSession = try await Live.sessionID(of: tablet.token, listedBy: laptop.token, client)
            #expect(try await Live.call(client, .DELETE, "/api/v1/auth/sessions/\(tabletSession)", token: laptop.token).status == 204)
            #expect(try await tabletDevice.recorder.waitForClose(seconds: 10) == ConnectionCloseReason.sessionRevoked.code)
            await tabletDevice.stop()

            // Nothing reaches a closed socket; the other session's socket stays and gets it.
            _ = try await client.send("after the sign-out", to: chat, token: bob.token)
            try await laptopDevice.recorder.wait("the message on the laptop") { $0.contains { $0.message?.content == "after the sign-out" } }
            #expect(await tabletDevice.messages().allSatisfy { $0.content != "after the sign-out" })

            // A refresh token presented twice signs its session out: its socket closes too.
            _ = try await Live.call(client, .POST, "/api/v1/auth/refresh", json: ["refresh_token": laptop.refreshToken])
            let reuse = try await Live.call(client, .POST, "/api/v1/auth/refresh", json: ["refresh_token": laptop.refreshToken])
            #expect(reuse.errorCode == "refresh_token_reused")
            #expect(try await laptopDevice.recorder.waitForClose(seconds: 10) == ConnectionCloseReason.sessionRevoked.code)
            await laptopDevice.stop()

            // A signed-out token cannot open a new socket.
            let refused = try await RawHTTP.exchange(port: try Live.port(client), RawHTTP.upgradeRequest("/ws?token=\(alice.token)"))
            #expect(refused.status == 401)
            #expect(refused.errorCode == "session_revoked")
        }
    }

    @Test(arguments: TestEngine.all)
    func aSignOutTheBusNeverCarriedStillClosesTheSocket(engine: TestEngine) async throws {
        // Sessions revoked behind the bus's back (a lost pub/sub message, another node's database
        // write): the periodic check finds them.
        try await withLiveServer(engine, gateway: GatewayConfiguration(sessionCheckInterval: .seconds(1))) { client, services in
            let alice = try await client.signUp("alice_1")
            let device = await TestDevice(client, token: alice.token)
            try await device.ready()
            let userID = try #require(UUID(uuidString: alice.user.id))
            let session = try #require(try await services.store.sessions.active(userID: userID, at: .now()).first)
            _ = try await services.store.sessions.revoke(sessionID: session.id, userID: session.userID, at: .now())
            #expect(try await device.recorder.waitForClose(seconds: 10) == ConnectionCloseReason.sessionRevoked.code)
            await device.stop()
        }
    }

    @Test(arguments: TestEngine.all)
    func aSilentClientDoesNotKeepTheSocketOfASignedOutSession(engine: TestEngine) async throws {
        try await withLiveServer(engine, gateway: GatewayConfiguration(maxConnectionsPerUser: 1)) { client, services in
            let alice = try await client.signUp("alice_1")
            // A client that neither reads nor answers the close frame nor closes its end.
            let silent = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(silent) }
            try await Task.sleep(for: .milliseconds(200))
            #expect(await services.registry.count == 1)
            #expect(try await Live.call(client, .POST, "/api/v1/auth/logout", token: alice.token).status == 204)
            // Its place comes back once the close grace has passed, not when the client gets round to it.
            let deadline = ContinuousClock.now + .seconds(6)
            while await services.registry.count > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(await services.registry.count == 0)
            let again = try await client.login(username: "alice_1", password: "correct horse battery")
            let device = await TestDevice(client, token: again.token)
            try await device.ready()
            await device.stop()
        }
    }

    @Test func aSocketClosesWhenItsAccessTokenExpires() async throws {
        try await withLiveServer(.sqlite) { client, _ in
            let alice = try await client.signUp("alice_1")
            let ids = try await Live.ids(of: alice.token, client)
            let shortLived = try await TokenTests.sign(userID: ids.user, sessionID: ids.session, expiresIn: 2, secret: testJWTSecret)
            let device = await TestDevice(client, token: shortLived)
            try await device.ready()
            let opened = ContinuousClock.now
            #expect(try await device.recorder.waitForClose(seconds: 10) == ConnectionCloseReason.tokenExpired.code)
            // Closed at expiry (whole seconds in the token, checked every second), not a day later.
            #expect(ContinuousClock.now - opened < .seconds(8))
            await device.stop()
        }
    }
}

/// Upgrades: refused with a reason, limited per user, and never leaking a place.
@Suite("WebSocket upgrades")
struct UpgradeTests {
    @Test(arguments: TestEngine.all)
    func refusedUpgradesSayWhyInJSON(engine: TestEngine) async throws {
        try await withLiveServer(engine, gateway: GatewayConfiguration(maxConnections: 1)) { client, _ in
            let port = try Live.port(client)
            let alice = try await client.signUp("alice_1")
            let ids = try await Live.ids(of: alice.token, client)
            let expired = try await TokenTests.sign(userID: ids.user, sessionID: ids.session, expiresIn: -60, secret: testJWTSecret)
            let forged = try await TokenTests.sign(userID: ids.user, sessionID: ids.session, expiresIn: 600, secret: String(repeating: "f", count: 40))
            for (path, code) in [
                ("/ws", "unauthorized"), ("/ws?token=garbage", "token_invalid"), ("/ws?token=\(forged)", "token_invalid"),
                ("/ws?token=\(expired)", "token_expired"),
            ] {
                let answer = try await RawHTTP.exchange(port: port, RawHTTP.upgradeRequest(path))
                #expect(answer.status == 401, "\(code): \(answer.headers)")
                #expect(answer.errorCode == code)
                #expect(answer.headers.lowercased().contains("content-type: application/json"))
            }
            let device = await TestDevice(client, token: alice.token)
            try await device.ready()
            let full = try await RawHTTP.exchange(port: port, RawHTTP.upgradeRequest("/ws?token=\(alice.token)"))
            #expect(full.status == 503)
            #expect(full.errorCode == "too_many_connections")
            await device.stop()
            // An accepted upgrade is still a plain 101.
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await RawHTTP.exchange(port: port, RawHTTP.upgradeRequest("/ws?token=\(alice.token)")).status == 101)
        }
    }

    @Test(arguments: TestEngine.all)
    func clientsThatVanishMidHandshakeLeakNoPlace(engine: TestEngine) async throws {
        try await withLiveServer(engine, gateway: GatewayConfiguration(maxConnections: 3)) { client, services in
            let port = try Live.port(client)
            let alice = try await client.signUp("alice_1")
            for _ in 0..<60 {
                try await RawHTTP.sendAndReset(port: port, RawHTTP.upgradeRequest("/ws?token=\(alice.token)"))
            }
            // Let the server notice every reset.
            try await Task.sleep(for: .milliseconds(500))
            #expect(await services.registry.count == 0)
            var devices: [TestDevice] = []
            for _ in 0..<3 {
                let device = await TestDevice(client, token: alice.token)
                try await device.ready()
                devices.append(device)
            }
            for device in devices { await device.stop() }
        }
    }

    @Test(arguments: TestEngine.all)
    func oneAccountCannotTakeEveryPlace(engine: TestEngine) async throws {
        let limits = RateLimitSettings(user: .init(10_000, per: 60), webSocketUpgradesPerUser: .init(6, per: 60))
        try await withLiveServer(engine, gateway: GatewayConfiguration(maxConnections: 10, maxConnectionsPerUser: 3), rateLimits: limits) { client, _ in
            let port = try Live.port(client)
            let mallory = try await client.signUp("mallory")
            let bob = try await client.signUp("bob_12")
            var devices: [TestDevice] = []
            for _ in 0..<3 {
                let device = await TestDevice(client, token: mallory.token)
                try await device.ready()
                devices.append(device)
            }
            let fourth = try await RawHTTP.exchange(port: port, RawHTTP.upgradeRequest("/ws?token=\(mallory.token)"))
            #expect(fourth.status == 429)
            #expect(fourth.errorCode == "too_many_connections_for_user")
            // Others still get in.
            let bobsPhone = await TestDevice(client, token: bob.token)
            try await bobsPhone.ready()
            await bobsPhone.stop()
            // Upgrades themselves are rate-limited: mallory used 4 of 6, two more, then 429.
            for _ in 0..<2 { _ = try await RawHTTP.exchange(port: port, RawHTTP.upgradeRequest("/ws?token=\(mallory.token)")) }
            let flooded = try await RawHTTP.exchange(port: port, RawHTTP.upgradeRequest("/ws?token=\(mallory.token)"))
            #expect(flooded.status == 429)
            #expect(flooded.errorCode == "rate_limited")
            #expect(flooded.headers.lowercased().contains("retry-after:"))
            for device in devices { await device.stop() }
        }
    }

    @Test func failedUpgradesCountAgainstTheAddress() async throws {
        let limits = RateLimitSettings(unauthenticatedPerIP: .init(5, per: 60))
        try await withLiveServer(.sqlite, rateLimits: limits) { client, _ in
            let port = try Live.port(client)
            for _ in 0..<5 {
                #expect(try await RawHTTP.exchange(port: port, RawHTTP.upgradeRequest("/ws?token=garbage")).status == 401)
            }
            let throttled = try await RawHTTP.exchange(port: port, RawHTTP.upgradeRequest("/ws?token=garbage"))
            #expect(throttled.status == 429)
            #expect(throttled.errorCode == "rate_limited")
        }
    }
}

/// REST calls of the live tests.
enum Live {
    struct Answer {
        let status: Int
        let json: [String: Any]
        let body: [UInt8]
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    /// Calls a live server: a JSON body, or raw `bytes` (an upload part) with their own headers.
    static func call(
        _ client: CourierClient, _ method: HTTPMethod, _ path: String, json: [String: Any]? = nil, bytes: [UInt8]? = nil,
        headers: [String: String] = [:], token: String? = nil
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: client.baseURL + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: headers["Content-Type"] ?? "application/json")
        for (name, value) in headers where name != "Content-Type" { request.headers.add(name: name, value: value) }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json { request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))) }
        if let bytes { request.body = .bytes(ByteBuffer(bytes: bytes)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = Array(buffer: try await response.body.collect(upTo: 16 << 20))
        let parsed = (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
        return Answer(status: Int(response.status.code), json: parsed, body: body)
    }

    static func port(_ client: CourierClient) throws -> Int {
        try #require(URL(string: client.baseURL)?.port)
    }

    /// The user and session an access token belongs to.
    static func ids(of token: String, _ client: CourierClient) async throws -> (user: UUID, session: UUID) {
        let sessions = try await call(client, .GET, "/api/v1/auth/sessions", token: token)
        let current = try #require((sessions.json["sessions"] as? [[String: Any]])?.first { $0["current"] as? Bool == true })
        let me = try await call(client, .GET, "/api/v1/users/me", token: token)
        return (try #require(UUID(uuidString: me.json["id"] as? String ?? "")), try #require(UUID(uuidString: current["id"] as? String ?? "")))
    }

    /// The session id of `token`, as another device of the same user lists it.
    static func sessionID(of token: String, listedBy other: String, _ client: CourierClient) async throws -> String {
        try await ids(of: token, client).session.uuidString.lowercased()
    }
}
