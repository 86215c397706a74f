import CourierCore
import CourierServer
@testable import CourierStore
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import SQLKit
import Testing

/// Search through the keyed-hash index, on both engines: words across chats and in one, newest
/// first, paged, with context; only chats one is in; edits, deletes and leaving update it; no word
/// of a message reaches the disk in clear.
@Suite("Search")
struct SearchTests {
    /// Sends `text`, then waits a little so that the next message is stored in a later millisecond.
    @discardableResult
    func post(_ api: APIClient, _ user: SignedInUser, to chat: String, _ text: String) async throws -> String {
        let id = try await api.post(user, to: chat, text)
        try await Task.sleep(for: .milliseconds(3))
        return id
    }

    func search(_ api: APIClient, _ user: SignedInUser, _ query: String) async throws -> APIResponse {
        try await api.send(.get, "/api/v1/search?" + query, token: user.token)
    }

    /// The ids of the results of a search that must succeed.
    func ids(_ api: APIClient, _ user: SignedInUser, _ query: String) async throws -> [String] {
        let response = try await search(api, user, query)
        try #require(response.status == .ok, "search \(query): \(response.status) \(response.json)")
        return (response["results"] as? [[String: Any]] ?? []).compactMap { ($0["message"] as? [String: Any])?["id"] as? String }
    }

    func q(_ text: String) -> String { "q=" + text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }

    /// As before migration 6: no search entries at all, and `chatID` listed for the backfill up
    /// to `seq`.
    func unindex(_ chatID: UUID, upTo seq: Int, in store: Store, _ engine: TestEngine) async throws {
        try await store.engine.write { sql in
            if engine == .sqlite {
                try await sql.raw("INSERT INTO search_documents (search_documents) VALUES ('delete-all')").run()
            } else {
                try await sql.raw("DELETE FROM search_tokens").run()
            }
            try await sql.raw("INSERT INTO search_backfill (chat_id, indexed_up_to, until_seq) VALUES (\(bind: chatID), 0, \(bind: seq))").run()
        }
    }

    /// Over many chats a page first reads each chat's newest few and then more only from chats whose
    /// few all made the page; paging through small pages must still give every match exactly once,
    /// newest first, for one word and for two.
    @Test(arguments: TestEngine.all)
    func smallPagesOverManyChatsMissNothing(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                var chats: [String] = []
                for index in 0..<6 { chats.append(try await api.createGroup(alice, name: "Chat \(index)")) }
                var expected: [String] = []
                var both: [String] = []
                // Chats take turns unevenly, so the newest matches cluster in some of them, and
                // one chat has a run of ten.
                for index in 0..<30 {
                    let chat = (10..<20).contains(index) ? chats[0] : chats[(index * index + index / 4) % chats.count]
                    let text = index % 3 == 0 ? "orange and lemon \(index)" : "orange \(index)"
                    let id = try await post(api, alice, to: chat, text)
                    expected.insert(id, at: 0)
                    if index % 3 == 0 { both.insert(id, at: 0) }
                }
                // Pages larger than the few each chat gives in a first pass (3): a chat whose few
                // all make the page is asked again.
                let cases = [("orange", expected), ("orange lemon", both)].flatMap { query, all in [4, 10].map { (query, all, $0) } }
                for (query, all, limit) in cases {
                    var seen: [String] = []
                    var before: String?
                    repeat {
                        let response = try await search(api, alice, q(query) + "&limit=\(limit)" + (before.map { "&before=\($0)" } ?? ""))
                        try #require(response.status == .ok)
                        seen += (response["results"] as? [[String: Any]] ?? []).compactMap { ($0["message"] as? [String: Any])?["id"] as? String }
                        before = response["next_before"] as? String
                    } while before != nil && seen.count < 100
                    #expect(seen == all, "\(query), pages of \(limit): \(seen.count) of \(all.count)")
                }
            }
        }
    }

    /// A hit shows its message as history does: reactions with who reacted (counts only in a
    /// channel) and the reader's own; the last page says so with `next_before: null`.
    @Test(arguments: TestEngine.all)
    func hitsCarryTheirReactionsAndTheLastPageSaysSo(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let bob = try await api.register(username: "bob_1")
                let group = try await api.createGroup(alice, name: "Kitchen", members: [bob])
                let channel = try await api.createChannel(alice, username: "kitchen_news")
                #expect(try await api.send(.post, "/api/v1/channels/\(channel)/subscribe", token: bob.token).status.code < 300)
                let inGroup = try await post(api, alice, to: group, "waffles on friday")
                let posted = try await api.send(.post, "/api/v1/channels/\(channel)/posts", json: ["content": "waffles recipe"], token: alice.token)
                let inChannel = try posted.string("id")
                for (message, emoji) in [(inGroup, "🧇"), (inChannel, "🔥")] {
                    #expect(try await ReactionAndPinTests.react(api, bob, message, emoji).status == .ok)
                }
                #expect(try await ReactionAndPinTests.react(api, alice, inGroup, "🧇").status == .ok)

                let response = try await search(api, bob, q("waffles"))
                try #require(response.status == .ok)
                #expect(response.json.keys.contains("next_before") && response["next_before"] is NSNull)
                let messages = (response["results"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? [String: Any] }
                let byID = Dictionary(uniqueKeysWithValues: messages.compactMap { message in (message["id"] as? String).map { ($0, message) } })
                let groupHit = try #require(byID[inGroup]), channelHit = try #require(byID[inChannel])
                let groupReactions = groupHit["reactions"] as? [[String: Any]] ?? []
                #expect(ReactionAndPinTests.summary(groupReactions) == ["🧇2"])
                #expect(groupReactions.first?["user_ids"] as? [String] == [bob.id, alice.id])
                #expect(groupHit["my_reaction"] as? String == "🧇")
                let channelReactions = channelHit["reactions"] as? [[String: Any]] ?? []
                #expect(ReactionAndPinTests.summary(channelReactions) == ["🔥1"])
                #expect(channelReactions.first?["user_ids"] as? [String] == [])
                #expect(channelHit["my_reaction"] as? String == "🔥")
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func wordsAcrossChatsNewestFirstPagedWithContext(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let bob = try await api.register(username: "bob_1")
                let kitchen = try await api.createGroup(alice, name: "Kitchen", members: [bob])
                let garden = try await api.createGroup(alice, name: "Garden")
                let pie = try await post(api, alice, to: kitchen, "Grandma's APPLE pie recipe, see the notes")
                try await post(api, alice, to: kitchen, "pineapple is not an apple word")
                let juice = try await post(api, alice, to: garden, "Äpple juice from the tree")
                let crumble = try await post(api, bob, to: kitchen, "apple crumble tonight?")
                let long = String(repeating: "filler ", count: 40) + "the apple at the end"
                let tail = try await post(api, alice, to: garden, long)
                let pineapple = try #require(try await ids(api, alice, q("pineapple")).first)

                // Case and diacritics do not matter; whole words for every term but the last, which is typed so far.
                #expect(try await ids(api, alice, q("apple")) == [tail, crumble, juice, pineapple, pie])
                #expect(try await ids(api, alice, q("apple pie")) == [pie])
                #expect(try await ids(api, alice, q("RECI")) == [pie])
                #expect(try await ids(api, alice, q("appl")) == [tail, crumble, juice, pineapple, pie])
                #expect(try await ids(api, alice, q("pie apple")) == [pie])
                #expect(try await ids(api, alice, q("apple pies")).isEmpty)
                #expect(try await ids(api, alice, q("zebra")).isEmpty)
                // Within one chat.
                #expect(try await ids(api, alice, q("apple") + "&chat_id=\(garden)") == [tail, juice])

                // Pages follow each other without repeats or holes.
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let response = try await search(api, alice, q("apple") + "&limit=2" + (cursor.map { "&before=\($0)" } ?? ""))
                    #expect(response.status == .ok)
                    seen += (response["results"] as? [[String: Any]] ?? []).compactMap { ($0["message"] as? [String: Any])?["id"] as? String }
                    cursor = response["next_before"] as? String
                } while cursor != nil && seen.count < 10
                #expect(seen == [tail, crumble, juice, pineapple, pie])

                // The hit in its context.
                let hit = try #require((try await search(api, alice, q("apple") + "&chat_id=\(garden)&limit=1"))["results"] as? [[String: Any]])
                let snippet = try #require(hit.first?["snippet"] as? String)
                #expect(snippet.hasPrefix("…") && snippet.contains("the apple at the end") && snippet.count <= 122)

                // Bob sees the chat he is in, never the other.
                #expect(try await ids(api, bob, q("apple")) == [crumble, pineapple, pie])
                #expect(try await search(api, bob, q("apple") + "&chat_id=\(garden)").status == .notFound)
            }
        }
    }

    /// Messages sent back to back (the same millisecond, several chats) page without a gap or a repeat.
    @Test(arguments: TestEngine.all)
    func messagesSentAtOnceAllComeThroughThePages(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let chats = [try await api.createGroup(alice, name: "One"), try await api.createGroup(alice, name: "Two")]
                var sent: Set<String> = []
                for number in 0..<12 { sent.insert(try await api.post(alice, to: chats[number % 2], "burst \(number)")) }
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let response = try await search(api, alice, q("burst") + "&limit=1" + (cursor.map { "&before=\($0)" } ?? ""))
                    seen += (response["results"] as? [[String: Any]] ?? []).compactMap { ($0["message"] as? [String: Any])?["id"] as? String }
                    cursor = response["next_before"] as? String
                } while cursor != nil && seen.count < 30
                #expect(seen.count == 12 && Set(seen) == sent)
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func editsDeletesHidingAndLeavingUpdateWhatIsFound(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let bob = try await api.register(username: "bob_1")
                let chat = try await api.createGroup(alice, members: [bob])
                let edited = try await post(api, alice, to: chat, "meeting on monday")
                let deleted = try await post(api, alice, to: chat, "meeting moved")
                let hidden = try await post(api, bob, to: chat, "meeting notes")
                #expect(try await ids(api, bob, q("meeting")) == [hidden, deleted, edited])

                #expect(try await api.send(.patch, "/api/v1/messages/\(edited)", json: ["content": "lunch on tuesday"], token: alice.token).status == .ok)
                #expect(try await ids(api, bob, q("monday")).isEmpty)
                #expect(try await ids(api, bob, q("tuesday")) == [edited])
                #expect(try await api.send(.delete, "/api/v1/messages/\(deleted)?for=everyone", token: alice.token).status == .noContent)
                #expect(try await api.send(.delete, "/api/v1/messages/\(hidden)?for=me", token: alice.token).status == .noContent)
                #expect(try await ids(api, bob, q("meeting")) == [hidden])
                #expect(try await ids(api, alice, q("meeting")).isEmpty)
                // The deleted message left nothing behind in the index: SQLite keeps a document per
                // message, PostgreSQL a row per entry.
                let (table, expected) = engine == .sqlite
                    ? ("search_documents", 2)
                    : ("search_tokens", SearchText.indexTokens("lunch on tuesday").count + SearchText.indexTokens("meeting notes").count)
                let entries = try await store.engine.read { sql in
                    try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()!.decode(column: "n", as: Int.self)
                }
                #expect(entries == expected)

                #expect(try await api.send(.post, "/api/v1/chats/\(chat)/leave", token: bob.token).status == .noContent)
                #expect(try await ids(api, bob, q("meeting")).isEmpty)
                #expect(try await search(api, bob, q("meeting") + "&chat_id=\(chat)").status == .notFound)
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func channelPostsAreFoundByTheirSubscribers(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let bob = try await api.register(username: "bob_1")
                let carol = try await api.register(username: "carol_1")
                let channel = try await api.createChannel(alice, username: "news_search")
                #expect(try await api.send(.post, "/api/v1/channels/\(channel)/subscribe", token: bob.token).status.code < 300)
                let post = try await api.send(.post, "/api/v1/channels/\(channel)/posts", json: ["content": "Release notes for version nine"], token: alice.token)
                let id = try post.string("id")
                #expect(try await ids(api, bob, q("release nine")) == [id])
                #expect(try await ids(api, carol, q("release")).isEmpty)
            }
        }
    }

    /// A canary word, and the start of it typed as a query, never reach the disk in clear: not in
    /// the messages, not in the index.
    @Test(arguments: TestEngine.all)
    func theIndexKeepsNoWordInClear(engine: TestEngine) async throws {
        let canary = "zq" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        try await engine.withDatabase { store, location in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let chat = try await api.createGroup(alice)
                let id = try await post(api, alice, to: chat, "the password is \(canary) today")
                #expect(try await ids(api, alice, q(canary)) == [id])
                #expect(try await ids(api, alice, q(String(canary.prefix(6)))) == [id])
            }
            let raw = try await EncryptionTests.rawDatabase(store, location)
            #expect(raw.range(of: Data("alice_1".utf8)) != nil)
            #expect(raw.range(of: Data(canary.utf8)) == nil, "the canary is stored in clear")
            #expect(raw.range(of: Data(canary.prefix(5).utf8)) == nil, "a prefix of the canary is stored in clear")
        }
    }

    @Test(arguments: TestEngine.all)
    func badQueriesGetClearErrors(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                for (query, field) in [
                    ("", "q"), ("q=", "q"), ("q=%21%21%21", "q"), ("q=a&limit=0", "limit"), ("q=a&limit=51", "limit"), ("q=a&limit=x", "limit"),
                    ("q=a&before=garbage", "before"), ("q=a&before=1_\(UUID().uuidString)x_1", "before"), ("q=a&before=1_\(UUID().uuidString)_-1", "before"), ("q=a&chat_id=nope", "chat_id"),
                    ("q=" + String(repeating: "a", count: 257), "q"),
                ] {
                    let response = try await search(api, alice, query)
                    #expect(response.status == .badRequest, "\(query)")
                    #expect(response.errorField == field, "\(query): \(response.json)")
                }
                #expect(try await search(api, alice, "q=a&chat_id=\(UUID().uuidString)").status == .notFound)
                #expect(try await api.send(.get, "/api/v1/search?q=a").status == .unauthorized)
            }
        }
    }

    /// Messages stored before the index existed are indexed by the backfill, and only once.
    @Test(arguments: TestEngine.all)
    func messagesFromBeforeTheIndexAreBackfilled(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let chat = try await api.createGroup(alice)
                let id = try await post(api, alice, to: chat, "an old harbour photo")
                // As before migration 6: no entries, and the chat listed for the backfill.
                let chatID = try #require(UUID(uuidString: chat))
                try await unindex(chatID, upTo: 1, in: store, engine)
                #expect(try await ids(api, alice, q("harbour")).isEmpty)
                while try await store.search.backfill(batch: 1) > 0 {}
                #expect(try await ids(api, alice, q("harbour")) == [id])
                #expect(try await store.search.backfill() == 0)
            }
        }
    }

    /// A message that does not open (its ciphertext moved onto it) is left out of the backfill;
    /// the messages after it are indexed, and the chat is done.
    @Test(arguments: TestEngine.all)
    func anUnreadableMessageDoesNotStopTheBackfill(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let chat = try await api.createGroup(alice)
                let broken = try await post(api, alice, to: chat, "an old harbour photo")
                let later = try await post(api, alice, to: chat, "the harbour at night")
                let chatID = try #require(UUID(uuidString: chat))
                try await unindex(chatID, upTo: 2, in: store, engine)
                try await store.engine.write { sql in
                    let other = try await sql.raw("SELECT content FROM messages WHERE id = \(bind: UUID(uuidString: later)!)").first()
                    let moved = try other?.decode(column: "content", as: String.self) ?? ""
                    try await sql.raw("UPDATE messages SET content = \(bind: moved) WHERE id = \(bind: UUID(uuidString: broken)!)").run()
                }
                while try await store.search.backfill(batch: 1) > 0 {}
                #expect(try await ids(api, alice, q("night")) == [later])
                #expect(try await store.search.backfill() == 0)
            }
        }
    }

    /// When the last member leaves, the chat goes, and on SQLite its search documents with it
    /// (the FTS5 table has no foreign key to cascade): leaving chat after chat grows nothing.
    @Test func aDeletedChatLeavesNoSearchDocuments() async throws {
        try await TestEngine.sqlite.withStore { store in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let kept = try await api.createGroup(alice)
                _ = try await post(api, alice, to: kept, "the harbour stays")
                func documents() async throws -> Int {
                    try await store.engine.read { sql in
                        try await sql.raw("SELECT COUNT(*) AS n FROM search_documents").first()?.decode(column: "n", as: Int.self) ?? -1
                    }
                }
                let before = try await documents()
                #expect(before == 1)
                for round in 0..<3 {
                    let chat = try await api.createGroup(alice)
                    _ = try await post(api, alice, to: chat, "alone in round \(round)")
                    _ = try await post(api, alice, to: chat, "and again")
                    #expect(try await documents() == before + 2)
                    #expect(try await api.send(.post, "/api/v1/chats/\(chat)/leave", token: alice.token).status == .noContent)
                    #expect(try await documents() == before)
                }
                #expect(try await ids(api, alice, q("harbour")).count == 1)
            }
        }
    }

    /// The backfill reads and hashes a batch before it writes: a message edited or deleted in
    /// between keeps what its edit indexed (its new text), and a deleted one stays unfound.
    @Test(arguments: TestEngine.all)
    func aMessageChangedWhileItsBatchIsPreparedKeepsItsNewText(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let chat = try await api.createGroup(alice)
                let edited = try await post(api, alice, to: chat, "an old harbour photo")
                let deleted = try await post(api, alice, to: chat, "the harbour at dusk")
                let kept = try await post(api, alice, to: chat, "harbour lights")
                let chatID = try #require(UUID(uuidString: chat))
                try await unindex(chatID, upTo: 3, in: store, engine)
                let batch = try #require(try await store.search.prepareBackfill(batch: 10))
                #expect(batch.messages.count == 3)
                #expect(try await api.send(.patch, "/api/v1/messages/\(edited)", json: ["content": "a new lighthouse photo"], token: alice.token).status == .ok)
                #expect(try await api.send(.delete, "/api/v1/messages/\(deleted)", token: alice.token).status == .noContent)
                try await store.search.storeBackfill(batch)
                #expect(try await ids(api, alice, q("harbour")) == [kept])
                #expect(try await ids(api, alice, q("lighthouse")) == [edited])
                // Stored once: the chat is done, and the same batch stored again changes nothing.
                #expect(try await store.search.backfill() == 0)
                try await store.search.storeBackfill(batch)
                #expect(try await ids(api, alice, q("harbour")) == [kept])
            }
        }
    }
}

/// SQLite's index as FTS5 documents (migration 11): what a database from before it becomes.
@Suite("Search documents")
struct SearchDocumentsTests {
    /// A chat from before version 11 gets its number, its old entries (which do not say their chat)
    /// are dropped, and the backfill indexes its messages again, found by search afterwards; a chat
    /// created later is numbered by the trigger, after it.
    @Test func chatsFromBeforeTheDocumentsAreNumberedAndIndexedAgain() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/courier.sqlite", logger: TestEngine.logger)
        try await Migrator(engine: engine, migrations: Array(Schema.migrations.prefix(10))).migrate(logger: TestEngine.logger)
        let keyring = try await Keyring.open(keyFile: folder.path + "/master.key", engine: engine)
        let cipher = MessageCipher(keyring: keyring)
        let chatID = UUID()
        let texts = ["an old harbour photo", "the harbour at night", "nothing to see"]
        var ids: [UUID] = []
        try await engine.write { sql in
            try await sql.raw("""
                INSERT INTO chats (id, type, name, owner_id, dm_key, last_seq, member_count, last_activity_at, created_at, updated_at)
                VALUES (\(bind: chatID), 'group', 'Old', NULL, NULL, \(bind: texts.count), 0, 0, 0, 0)
                """).run()
            try await sql.raw("INSERT INTO search_tokens (token, seq) VALUES (1, 1), (2, 2)").run()
        }
        for (index, text) in texts.enumerated() {
            let id = UUID()
            ids.append(id)
            let sealed = try await cipher.sealContent(text, messageID: id, chatID: chatID)
            try await engine.write { sql in
                try await sql.raw("""
                    INSERT INTO messages (\(unsafeRaw: Message.columns))
                    VALUES (\(bind: id), \(bind: chatID), \(bind: index + 1), NULL, \(bind: sealed), 'text', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                            \(bind: index + 1), \(bind: index + 1), NULL, NULL)
                    """).run()
            }
        }
        try await Migrator(engine: engine).migrate(logger: TestEngine.logger)
        let store = Store(engine: engine, keyring: keyring)
        let later = UUID()
        try await engine.write { sql in
            try await sql.raw("""
                INSERT INTO chats (id, type, name, owner_id, dm_key, last_seq, member_count, last_activity_at, created_at, updated_at)
                VALUES (\(bind: later), 'group', 'Later', NULL, NULL, 0, 0, 0, 0, 0)
                """).run()
        }
        let ordinals = try await engine.read { sql in
            try await sql.raw("SELECT chat_id, ordinal FROM search_chats ORDER BY ordinal").all()
                .map { try ($0.decode(column: "chat_id", as: UUID.self), $0.decode(column: "ordinal", as: Int64.self)) }
        }
        #expect(ordinals.map(\.0) == [chatID, later])
        #expect(ordinals.map(\.1) == [1, 2])
        let query = try #require(SearchText.Query("harbour"))
        #expect(try await store.search.search(query, in: [chatID], for: UUID(), before: nil, limit: 10).hits.isEmpty)
        while try await store.search.backfill(batch: 2) > 0 {}
        let found = try await store.search.search(query, in: [chatID], for: UUID(), before: nil, limit: 10)
        #expect(found.hits.map(\.message.id) == [ids[1], ids[0]])
        try await engine.close()
    }

    /// Removing a `seq` too large for a rowid (never indexed) leaves other chats' documents alone:
    /// OR-ed into the rowid, its high bits would name another chat.
    @Test func aSeqPastThirtyTwoBitsRemovesNoOtherChatsDocument() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/courier.sqlite", logger: TestEngine.logger)
        try await Migrator(engine: engine).migrate(logger: TestEngine.logger)
        let keyring = try await Keyring.open(keyFile: folder.path + "/master.key", engine: engine)
        let (first, second, third) = (UUID(), UUID(), UUID())
        try await engine.write { sql in
            for (chat, name) in [(first, "First"), (second, "Second"), (third, "Third")] {
                try await sql.raw("""
                    INSERT INTO chats (id, type, name, owner_id, dm_key, last_seq, member_count, last_activity_at, created_at, updated_at)
                    VALUES (\(bind: chat), 'group', \(bind: name), NULL, NULL, 0, 0, 0, 0, 0)
                    """).run()
            }
            // Chats numbered 1, 2 and 3: OR-ed into a rowid, chat 1's seq 2^33 + 5 and chat 2's
            // 2^32 + 5 both name chat 3's seq 5.
            try await SearchIndex.add([42], seq: 5, in: third, on: sql)
            try await SearchIndex(keyring: keyring).remove(seq: (1 << 33) + 5, in: first, previousText: "", on: sql)
            try await SearchIndex(keyring: keyring).remove(seq: (1 << 32) + 5, in: second, previousText: "", on: sql)
        }
        let documents = try await engine.read { sql in
            try await sql.raw("SELECT rowid FROM search_documents").all().map { try $0.decode(column: "rowid", as: Int64.self) }
        }
        #expect(documents == [SearchIndex.rowids(ofChat: 3).first + 5])
        try await engine.close()
    }

    /// Rowids: a chat's range holds its `seq`s and no other chat's; a cursor's range ends below it.
    @Test func aChatsRowidsAreItsOwn() {
        let first = SearchIndex.rowids(ofChat: 1)
        let second = SearchIndex.rowids(ofChat: 2)
        #expect(first.last < second.first)
        #expect(SearchIndex.seq(ofRowid: first.first + 42) == 42)
        #expect(SearchIndex.rowids(ofChat: 2, below: 10) == (second.first, second.first + 9))
        let none = SearchIndex.rowids(ofChat: 2, below: 0)
        #expect(none.last < none.first)
        #expect(SearchIndex.terms([-1, 255]) == "ffffffffffffffff ff")
        #expect(SearchIndex.query(all: [-1, 255]) == "\"ffffffffffffffff\" \"ff\"")
    }
}

@Suite("Search index hashes")
struct SearchIndexHashTests {
    /// The key set up once and copied per token gives each token's own HMAC.
    @Test func eachTokenGetsItsOwnHMAC() {
        let key = SymmetricKey(size: .bits256)
        let tokens = ["a", "hello", "hel", "", "ünïcödé", String(repeating: "x", count: 500), "hello"]
        let expected = tokens.map { token in
            HMAC<SHA256>.authenticationCode(for: Data(token.utf8), using: key).withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
        }
        #expect(SearchIndex.hashes(of: tokens, key: key) == expected)
    }

    /// An `IN` list or a batch of rows is padded to one of a few lengths by repeating its last value.
    @Test func listsArePaddedToAPowerOfTwo() {
        #expect(SQLQueryString.padded([Int]()) == [])
        #expect(SQLQueryString.padded([7]) == [7])
        #expect(SQLQueryString.padded([1, 2, 3]) == [1, 2, 3, 3])
        #expect(SQLQueryString.padded(Array(1...5)) == [1, 2, 3, 4, 5, 5, 5, 5])
        #expect(SQLQueryString.padded(Array(1...1024)).count == 1024)
        #expect(SQLQueryString.padded(Array(1...1025)).count == 2048)
        // Past the longest padded list a list goes as it is: doubling it could pass SQLite's limit.
        #expect(SQLQueryString.padded(Array(1...4095)).count == 4096)
        #expect(SQLQueryString.padded(Array(1...4097)).count == 4097)
        #expect(SQLQueryString.padded(Array(1...200_000)).count == 200_000)
    }
}
