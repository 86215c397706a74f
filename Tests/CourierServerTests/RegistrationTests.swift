import Testing

@Suite("Registration")
struct RegistrationTests {
    @Test(arguments: TestEngine.all)
    func registerReturnsUserAndTokens(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let response = try await api.send(.post, "/api/v1/auth/register", json: [
                "phone": "+1 (415) 555-0123", "email": "Alice@Example.com", "password": "correct horse", "username": "Alice_Smith",
            ])
            #expect(response.status == .created)
            let user = try response.object("user")
            #expect(user["phone"] as? String == "+14155550123")
            #expect(user["username"] as? String == "alice_smith")
            #expect(user["email"] as? String == "alice@example.com")
            #expect(user["is_premium"] as? Bool == false)
            #expect((user["id"] as? String)?.count == 36)
            #expect((user["created_at"] as? String)?.hasSuffix("Z") == true)
            #expect(user["password_hash"] == nil)
            #expect(try response.string("token").split(separator: ".").count == 3)
            #expect(try response.string("refresh_token").count >= 43)
        }
    }

    @Test(arguments: TestEngine.all)
    func duplicatesAreConflictsNamingTheField(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            try await api.register(username: "alice_1", phone: "+14155550100", email: "alice@example.com")
            let cases: [(field: String, body: [String: Any?])] = [
                ("phone", ["username": "bob_12", "phone": "+1 415 555 0100", "password": "correct horse"]),
                ("email", ["username": "bob_12", "phone": "+14155550101", "email": "ALICE@example.com", "password": "correct horse"]),
                ("username", ["username": "ALICE_1", "phone": "+14155550102", "password": "correct horse"]),
            ]
            for (field, body) in cases {
                let response = try await api.send(.post, "/api/v1/auth/register", json: body)
                #expect(response.status == .conflict, "\(field)")
                #expect(response.errorCode == "\(field)_taken")
                #expect(response.errorField == field)
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func invalidValuesAreRejectedNamingTheField(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let valid: [String: Any?] = ["username": "valid_name", "phone": "+14155550123", "password": "correct horse"]
            let cases: [(field: String, change: [String: Any?])] = [
                ("phone", ["phone": "4155550123"]),
                ("phone", ["phone": "+0123456789"]),
                ("phone", ["phone": "+1415555012345678"]),
                ("phone", ["phone": "+1415abc0123"]),
                ("username", ["username": "abcd"]),
                ("username", ["username": String(repeating: "a", count: 33)]),
                ("username", ["username": "bad-name!"]),
                ("username", ["username": "ünïcode_name"]),
                ("password", ["password": "short"]),
                ("password", ["password": String(repeating: "p", count: 73)]),
                ("email", ["email": "not-an-email"]),
                ("email", ["email": "a@b"]),
                ("email", ["email": "a b@example.com"]),
            ]
            for (field, change) in cases {
                let body = valid.merging(change) { _, new in new }
                let response = try await api.send(.post, "/api/v1/auth/register", json: body)
                #expect(response.status == .unprocessableContent, "\(change)")
                #expect(response.errorCode == "validation_failed")
                #expect(response.errorField == field, "\(change)")
            }
            // Nothing was stored by the failed attempts: the valid registration still works.
            #expect(try await api.send(.post, "/api/v1/auth/register", json: valid).status == .created)
        }
    }

    @Test(arguments: TestEngine.all)
    func malformedBodiesAreBadRequests(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let path = "/api/v1/auth/register"
            let notJSON = try await api.send(.post, path, body: "{\"phone\": ")
            #expect(notJSON.status == .badRequest)
            #expect(notJSON.errorCode == "invalid_json")

            let empty = try await api.send(.post, path, body: "")
            #expect(empty.status == .badRequest)
            #expect(empty.errorCode == "invalid_json")

            let array = try await api.send(.post, path, body: "[1, 2]")
            #expect(array.status == .badRequest)

            let missing = try await api.send(.post, path, json: ["phone": "+14155550123", "password": "correct horse"])
            #expect(missing.status == .badRequest)
            #expect(missing.errorCode == "missing_field")
            #expect(missing.errorField == "username")

            let wrongType = try await api.send(.post, path, json: ["phone": 14155550123, "username": "valid_name", "password": "correct horse"])
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.errorCode == "invalid_field")
            #expect(wrongType.errorField == "phone")
        }
    }

    @Test(arguments: TestEngine.all)
    func oversizedBodyIsRefused(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let huge = "{\"username\":\"" + String(repeating: "a", count: 100_000) + "\"}"
            let response = try await api.send(.post, "/api/v1/auth/register", body: huge)
            #expect(response.status == .contentTooLarge)
            #expect(response.errorCode == "payload_too_large")
        }
    }
}
