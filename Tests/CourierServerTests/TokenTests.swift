import Foundation
import JWTKit
import Testing

@testable import CourierServer

@Suite("Tokens and sessions")
struct TokenTests {
    @Test(arguments: TestEngine.all)
    func refreshRotatesTheTokenPair(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let refreshed = try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": alice.refreshToken])
            #expect(refreshed.status == .ok)
            let newToken = try refreshed.string("token")
            let newRefresh = try refreshed.string("refresh_token")
            #expect(newRefresh != alice.refreshToken)
            #expect(try refreshed.string("session_id") == alice.sessionID)
            #expect(try await api.send(.get, "/api/v1/users/me", token: newToken).status == .ok)
            // The new refresh token works once more.
            #expect(try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": newRefresh]).status == .ok)
        }
    }

    @Test(arguments: TestEngine.all)
    func reusingARotatedRefreshTokenRevokesTheSession(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let other = try await api.send(.post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "correct horse battery"])
            let otherToken = try other.string("token")

            let refreshed = try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": alice.refreshToken])
            let current = try refreshed.string("refresh_token")
            let currentAccess = try refreshed.string("token")

            let replay = try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": alice.refreshToken])
            #expect(replay.status == .unauthorized)
            #expect(replay.errorCode == "refresh_token_reused")

            // The whole session is gone: its newest refresh token and its access tokens…
            let afterReuse = try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": current])
            #expect(afterReuse.status == .unauthorized)
            let me = try await api.send(.get, "/api/v1/users/me", token: currentAccess)
            #expect(me.status == .unauthorized)
            #expect(me.errorCode == "session_revoked")
            // …while the account's other device stays signed in.
            #expect(try await api.send(.get, "/api/v1/users/me", token: otherToken).status == .ok)
        }
    }

    @Test(arguments: TestEngine.all)
    func unknownRefreshTokenIsRefused(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let response = try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": "not-a-token"])
            #expect(response.status == .unauthorized)
            #expect(response.errorCode == "refresh_token_invalid")
        }
    }

    @Test(arguments: TestEngine.all)
    func badAccessTokensAreRefused(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let userID = try #require(UUID(uuidString: alice.id))
            let sessionID = try #require(UUID(uuidString: alice.sessionID))

            let noToken = try await api.send(.get, "/api/v1/users/me")
            #expect(noToken.status == .unauthorized)
            #expect(noToken.errorCode == "unauthorized")

            let notBearer = try await api.send(.get, "/api/v1/users/me", headers: [.authorization: "Basic YWxpY2U6eA=="])
            #expect(notBearer.status == .unauthorized)

            // Claim to be someone else, keeping Alice's signature.
            var parts = alice.token.split(separator: ".").map(String.init)
            parts[1] = try Self.rewritePayload(parts[1]) { $0["sub"] = UUID().uuidString.lowercased() }
            let tampered = try await api.send(.get, "/api/v1/users/me", token: parts.joined(separator: "."))
            #expect(tampered.status == .unauthorized)
            #expect(tampered.errorCode == "token_invalid")

            #expect(try await api.send(.get, "/api/v1/users/me", token: "garbage").errorCode == "token_invalid")

            let expired = try await Self.sign(userID: userID, sessionID: sessionID, expiresIn: -60, secret: testJWTSecret)
            let expiredResponse = try await api.send(.get, "/api/v1/users/me", token: expired)
            #expect(expiredResponse.status == .unauthorized)
            #expect(expiredResponse.errorCode == "token_expired")

            let forged = try await Self.sign(userID: userID, sessionID: sessionID, expiresIn: 600, secret: String(repeating: "x", count: 40))
            #expect(try await api.send(.get, "/api/v1/users/me", token: forged).errorCode == "token_invalid")

            let valid = try await Self.sign(userID: userID, sessionID: sessionID, expiresIn: 600, secret: testJWTSecret)
            #expect(try await api.send(.get, "/api/v1/users/me", token: valid).status == .ok)
        }
    }

    @Test(arguments: TestEngine.all)
    func accessTokenHasTheStandardClaims(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: testJWTSecret), digestAlgorithm: .sha256)
            let claims = try await keys.verify(alice.token, as: AccessTokenClaims.self)
            #expect(claims.sub.value == alice.id)
            #expect(claims.sid == alice.sessionID)
            #expect(!claims.jti.value.isEmpty)
            let lifetime = claims.exp.value.timeIntervalSince(claims.iat.value)
            #expect(lifetime == 24 * 60 * 60)
        }
    }

    @Test(arguments: TestEngine.all)
    func logoutEndsTheSession(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            #expect(try await api.send(.post, "/api/v1/auth/logout", token: alice.token).status == .noContent)
            #expect(try await api.send(.get, "/api/v1/users/me", token: alice.token).status == .unauthorized)
            #expect(try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": alice.refreshToken]).status == .unauthorized)
        }
    }

    @Test(arguments: TestEngine.all)
    func sessionsCanBeListedAndSignedOutOneByOne(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let phone = try await api.register(username: "alice_1")
            let laptop = try SignedInUser(try await api.send(
                .post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "correct horse battery", "device_name": "Laptop"]
            ))
            let bob = try await api.register(username: "bob_12")

            let list = try await api.send(.get, "/api/v1/auth/sessions", token: phone.token)
            #expect(list.status == .ok)
            let sessions = try #require(list["sessions"] as? [[String: Any]])
            #expect(sessions.count == 2)
            #expect(sessions.filter { $0["current"] as? Bool == true }.map { $0["id"] as? String } == [phone.sessionID])
            #expect(sessions.contains { $0["device_name"] as? String == "Laptop" })

            // Someone else's session cannot be touched, and is not revealed to exist.
            #expect(try await api.send(.delete, "/api/v1/auth/sessions/\(bob.sessionID)", token: phone.token).status == .notFound)
            #expect(try await api.send(.get, "/api/v1/users/me", token: bob.token).status == .ok)
            #expect(try await api.send(.delete, "/api/v1/auth/sessions/not-a-uuid", token: phone.token).status == .notFound)

            #expect(try await api.send(.delete, "/api/v1/auth/sessions/\(laptop.sessionID)", token: phone.token).status == .noContent)
            #expect(try await api.send(.get, "/api/v1/users/me", token: laptop.token).status == .unauthorized)
            #expect(try await api.send(.get, "/api/v1/users/me", token: phone.token).status == .ok)
            let after = try await api.send(.get, "/api/v1/auth/sessions", token: phone.token)
            #expect((after["sessions"] as? [[String: Any]])?.count == 1)
        }
    }

    /// Decodes a JWT payload (base64url JSON), changes it, and encodes it again.
    static func rewritePayload(_ part: String, _ change: (inout [String: Any]) -> Void) throws -> String {
        var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        let data = try #require(Data(base64Encoded: base64))
        var payload = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        change(&payload)
        return try JSONSerialization.data(withJSONObject: payload).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func sign(userID: UUID, sessionID: UUID, expiresIn seconds: TimeInterval, secret: String) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        let claims = AccessTokenClaims(
            sub: .init(value: userID.uuidString.lowercased()), sid: sessionID.uuidString.lowercased(),
            iat: .init(value: Date()), exp: .init(value: Date().addingTimeInterval(seconds)), jti: .init(value: UUID().uuidString)
        )
        return try await keys.sign(claims)
    }
}
