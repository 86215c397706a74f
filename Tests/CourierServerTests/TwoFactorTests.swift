import Crypto
import Foundation
import Testing

@Suite("Two-factor authentication")
struct TwoFactorTests {
    @Test(arguments: TestEngine.all)
    func enrolSignInWithCodesAndRecoveryCodesThenDisable(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let alice = try await api.register(username: "alice_1")
            let password = "correct horse battery"
            #expect(try await api.send(.get, "/api/v1/auth/2fa", token: alice.token)["enabled"] as? Bool == false)

            let setup = try await api.send(.post, "/api/v1/auth/2fa/setup", token: alice.token)
            let uri = try setup.string("otpauth_uri")
            #expect(uri.hasPrefix("otpauth://totp/Courier:alice_1?"))
            #expect(uri.contains("issuer=Courier"))
            let key = try #require(Self.key(fromURI: uri))
            let step = Int64(Date().timeIntervalSince1970) / 30

            #expect(try await api.send(.post, "/api/v1/auth/2fa/confirm", json: ["code": "000000"], token: alice.token).errorCode == "invalid_two_factor_code")
            let confirmed = try await api.send(.post, "/api/v1/auth/2fa/confirm", json: ["code": Self.code(key, step: step)], token: alice.token)
            #expect(confirmed.status == .ok)
            let recovery = try #require(confirmed["recovery_codes"] as? [String])
            #expect(recovery.count == 10)
            #expect(Set(recovery).count == 10)
            #expect(try await api.send(.get, "/api/v1/auth/2fa", token: alice.token)["enabled"] as? Bool == true)

            // The secret is sealed in the database.
            let stored = try await services.store.engine.read { sql in
                try await sql.raw("SELECT secret FROM two_factor").first()?.decode(column: "secret", as: String.self)
            }
            #expect(stored?.hasPrefix("e1.") == true)

            let login = "/api/v1/auth/login"
            let passwordOnly = try await api.send(.post, login, json: ["username": "alice_1", "password": password])
            #expect(passwordOnly.status == .unauthorized)
            #expect(passwordOnly.errorCode == "two_factor_required")
            #expect(passwordOnly["token"] == nil)
            let wrongPassword = try await api.send(.post, login, json: ["username": "alice_1", "password": "wrong!", "totp_code": Self.code(key, step: step + 1)])
            #expect(wrongPassword.errorCode == "invalid_credentials")
            let replayed = try await api.send(.post, login, json: ["username": "alice_1", "password": password, "totp_code": Self.code(key, step: step)])
            #expect(replayed.errorCode == "invalid_two_factor_code", "a code works once")
            let withCode = try await api.send(.post, login, json: ["username": "alice_1", "password": password, "totp_code": Self.code(key, step: step + 1)])
            #expect(withCode.status == .ok)
            #expect(withCode["token"] is String)

            let withRecovery = try await api.send(.post, login, json: ["username": "alice_1", "password": password, "recovery_code": recovery[0].uppercased()])
            #expect(withRecovery.status == .ok)
            let again = try await api.send(.post, login, json: ["username": "alice_1", "password": password, "recovery_code": recovery[0]])
            #expect(again.errorCode == "invalid_two_factor_code")

            #expect(try await api.send(.post, "/api/v1/auth/2fa/disable", json: ["password": "wrong!", "recovery_code": recovery[1]], token: alice.token).status == .unauthorized)
            #expect(try await api.send(.post, "/api/v1/auth/2fa/disable", json: ["password": password], token: alice.token).errorCode == "two_factor_required")
            let disabled = try await api.send(.post, "/api/v1/auth/2fa/disable", json: ["password": password, "recovery_code": recovery[1]], token: alice.token)
            #expect(disabled.status == .ok)
            #expect(try await api.send(.post, login, json: ["username": "alice_1", "password": password]).status == .ok)

            let audit = try await api.send(.get, "/api/v1/audit?limit=100", token: alice.token)
            let actions = (audit["entries"] as? [[String: Any]])?.compactMap { $0["action"] as? String } ?? []
            #expect(actions.contains("two_factor_enabled"))
            #expect(actions.contains("two_factor_disabled"))
        }
    }

    /// The key of an `otpauth://` URI (its base32 `secret`).
    static func key(fromURI uri: String) -> [UInt8]? {
        guard let secret = URLComponents(string: uri)?.queryItems?.first(where: { $0.name == "secret" })?.value else { return nil }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var bits = 0, value = 0
        var bytes: [UInt8] = []
        for character in secret.uppercased() where character != "=" {
            guard let index = alphabet.firstIndex(of: character) else { return nil }
            value = (value << 5) | index
            bits += 5
            if bits >= 8 {
                bytes.append(UInt8((value >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return bytes
    }

    /// RFC 6238 TOTP: HMAC-SHA1 of the time step, dynamically truncated to six digits.
    static func code(_ key: [UInt8], step: Int64) -> String {
        let counter = withUnsafeBytes(of: UInt64(step).bigEndian) { Array($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: counter, using: SymmetricKey(data: key)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        return String(format: "%06d", binary % 1_000_000)
    }
}
