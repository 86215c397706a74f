import Testing

@Suite("Login")
struct LoginTests {
    @Test(arguments: TestEngine.all)
    func loginWithPhoneUsernameOrEmail(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1", phone: "+14155550100", email: "alice@example.com")
            let identifiers: [[String: Any?]] = [["phone": "+14155550100"], ["username": "ALICE_1"], ["email": "Alice@Example.com"]]
            for identifier in identifiers {
                let response = try await api.send(.post, "/api/v1/auth/login", json: identifier.merging(["password": "correct horse battery"]) { a, _ in a })
                #expect(response.status == .ok, "\(identifier)")
                let user = try response.object("user")
                #expect(user["id"] as? String == alice.id)
                #expect(user["username"] as? String == "alice_1")
                #expect(user["is_premium"] as? Bool == false)
                let token = try response.string("token")
                #expect(try await api.send(.get, "/api/v1/users/me", token: token).status == .ok)
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func wrongCredentialsGetTheSameAnswer(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            try await api.register(username: "alice_1", phone: "+14155550100")
            let wrongPassword = try await api.send(.post, "/api/v1/auth/login", json: ["phone": "+14155550100", "password": "wrong password"])
            let unknownAccount = try await api.send(.post, "/api/v1/auth/login", json: ["phone": "+14155550199", "password": "wrong password"])
            let impossibleAccount = try await api.send(.post, "/api/v1/auth/login", json: ["username": "x", "password": "wrong password"])
            for response in [wrongPassword, unknownAccount, impossibleAccount] {
                #expect(response.status == .unauthorized)
                #expect(response.errorCode == "invalid_credentials")
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
            }
            #expect(NSDictionary(dictionary: wrongPassword.json).isEqual(to: unknownAccount.json))
        }
    }

    @Test(arguments: TestEngine.all)
    func loginNeedsExactlyOneIdentifier(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let none = try await api.send(.post, "/api/v1/auth/login", json: ["password": "correct horse"])
            #expect(none.status == .badRequest)
            let two = try await api.send(.post, "/api/v1/auth/login", json: ["phone": "+14155550100", "username": "alice_1", "password": "x"])
            #expect(two.status == .badRequest)
            let noPassword = try await api.send(.post, "/api/v1/auth/login", json: ["phone": "+14155550100"])
            #expect(noPassword.status == .badRequest)
            #expect(noPassword.errorField == "password")
        }
    }
}

import Foundation
