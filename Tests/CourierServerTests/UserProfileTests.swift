import Testing

@Suite("Profiles and lookup")
struct UserProfileTests {
    @Test(arguments: TestEngine.all)
    func meShowsAndUpdatesTheProfile(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1", phone: "+14155550100", email: "alice@example.com")
            let me = try await api.send(.get, "/api/v1/users/me", token: alice.token)
            #expect(me.status == .ok)
            #expect(me["phone"] as? String == "+14155550100")
            #expect(me["email"] as? String == "alice@example.com")

            let updated = try await api.send(.patch, "/api/v1/users/me", json: [
                "username": "Alice_New", "bio": "  Hello there  ", "avatar_url": "https://example.com/a.png",
            ], token: alice.token)
            #expect(updated.status == .ok)
            #expect(updated["username"] as? String == "alice_new")
            #expect(updated["bio"] as? String == "Hello there")
            #expect(updated["avatar_url"] as? String == "https://example.com/a.png")
            #expect(updated["email"] as? String == "alice@example.com")

            // null clears an optional field; leaving a field out keeps it.
            let cleared = try await api.send(.patch, "/api/v1/users/me", json: ["email": nil, "bio": nil], token: alice.token)
            #expect(cleared.status == .ok)
            #expect(cleared["email"] == nil)
            #expect(cleared["bio"] == nil)
            #expect(cleared["avatar_url"] as? String == "https://example.com/a.png")

            let again = try await api.send(.get, "/api/v1/users/me", token: alice.token)
            #expect(again["username"] as? String == "alice_new")
            #expect(again["email"] == nil)
        }
    }

    @Test(arguments: TestEngine.all)
    func failedUpdatesChangeNothing(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1", email: "alice@example.com")
            try await api.register(username: "bob_12", email: "bob@example.com")

            let taken = try await api.send(.patch, "/api/v1/users/me", json: ["username": "BOB_12", "bio": "new bio"], token: alice.token)
            #expect(taken.status == .conflict)
            #expect(taken.errorField == "username")
            let takenEmail = try await api.send(.patch, "/api/v1/users/me", json: ["email": "bob@example.com"], token: alice.token)
            #expect(takenEmail.status == .conflict)
            #expect(takenEmail.errorField == "email")

            let invalid: [(String, [String: Any?])] = [
                ("bio", ["bio": String(repeating: "b", count: 501)]),
                ("avatar_url", ["avatar_url": "javascript:alert(1)"]),
                ("avatar_url", ["avatar_url": "https://example.com/" + String(repeating: "a", count: 2100)]),
                ("username", ["username": "no"]),
                ("email", ["email": "nope"]),
            ]
            for (field, body) in invalid {
                let response = try await api.send(.patch, "/api/v1/users/me", json: body, token: alice.token)
                #expect(response.status == .unprocessableContent, "\(field)")
                #expect(response.errorField == field)
            }
            let wrongType = try await api.send(.patch, "/api/v1/users/me", json: ["bio": 42], token: alice.token)
            #expect(wrongType.status == .badRequest)

            let me = try await api.send(.get, "/api/v1/users/me", token: alice.token)
            #expect(me["username"] as? String == "alice_1")
            #expect(me["email"] as? String == "alice@example.com")
            #expect(me["bio"] == nil)
        }
    }

    @Test(arguments: TestEngine.all)
    func otherPeopleSeeOnlyThePublicProfile(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1", email: "alice@example.com")
            let bob = try await api.register(username: "bob_12")
            let seen = try await api.send(.get, "/api/v1/users/\(alice.id)", token: bob.token)
            #expect(seen.status == .ok)
            #expect(seen["username"] as? String == "alice_1")
            #expect(seen["phone"] == nil)
            #expect(seen["email"] == nil)

            #expect(try await api.send(.get, "/api/v1/users/\(alice.id)").status == .unauthorized)
            let unknown = try await api.send(.get, "/api/v1/users/00000000-0000-0000-0000-000000000000", token: bob.token)
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "user_not_found")
            #expect(try await api.send(.get, "/api/v1/users/12345", token: bob.token).status == .notFound)
        }
    }

    @Test(arguments: TestEngine.all)
    func lookupByExactUsernameOrPhone(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1", phone: "+14155550100")
            let bob = try await api.register(username: "bob_12")
            let byName = try await api.send(.get, "/api/v1/users?username=ALICE_1", token: bob.token)
            #expect(byName.status == .ok)
            #expect(byName["id"] as? String == alice.id)
            let byPhone = try await api.send(.get, "/api/v1/users?phone=%2B14155550100", token: bob.token)
            #expect(byPhone["id"] as? String == alice.id)
            #expect(byPhone["phone"] == nil)

            #expect(try await api.send(.get, "/api/v1/users?username=alice", token: bob.token).status == .notFound)
            #expect(try await api.send(.get, "/api/v1/users?username=nobody_here", token: bob.token).status == .notFound)
            #expect(try await api.send(.get, "/api/v1/users?phone=12", token: bob.token).status == .notFound)
            #expect(try await api.send(.get, "/api/v1/users", token: bob.token).status == .badRequest)
        }
    }
}
