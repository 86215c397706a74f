import CourierClient
import CourierRealtime
import CourierServer
import Foundation
import AsyncHTTPClient
import HummingbirdWSClient
import Logging
import Testing

@Suite("Real-time delivery over WebSocket")
struct RealtimeTests {
    @Test(arguments: TestEngine.all)
    func messagesReachEveryDeviceOfEveryMemberAndNobodyElse(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let alice = try await client.signUp("alice_1")
            let aliceLaptop = try await client.login(username: "alice_1", password: "correct horse battery")
            let bob = try await client.signUp("bob_12")
            let carol = try await client.signUp("carol_1")
            let chat = try await client.createGroup(named: "Team", members: [bob.user.id], token: alice.token)
            let carolsOwn = try await client.createGroup(named: "Alone", members: [], token: carol.token)

            let phone = await TestDevice(client, token: alice.token)
            let laptop = await TestDevice(client, token: aliceLaptop.token)
            let bobsPhone = await TestDevice(client, token: bob.token)
            let carolsPhone = await TestDevice(client, token: carol.token)
            for device in [phone, laptop, bobsPhone, carolsPhone] { try await device.ready() }

            // Sent over WebSocket: acked after it is stored, fanned out to the other devices.
            let ack = try await phone.connection.send("Hello over WebSocket", to: chat, clientMessageID: "ws-1")
            #expect(ack.type == "ack")
            #expect(ack.error == nil)
            #expect(ack.message?.seq == 1)
            let stored = try await client.history(of: chat, token: bob.token)
            #expect(stored.messages.map(\.id) == [ack.message?.id].compactMap { $0 })

            // Sent over REST: the same fan-out.
            _ = try await client.send("Hello over REST", to: chat, token: bob.token)
            try await laptop.recorder.wait("two messages on the laptop") { $0.filter { $0.type == "new_message" }.count == 2 }
            try await bobsPhone.recorder.wait("two messages for bob") { $0.filter { $0.type == "new_message" }.count == 2 }
            try await phone.recorder.wait("bob's message on the phone") { $0.contains { $0.message?.content == "Hello over REST" } }
            #expect(await laptop.messages().map(\.seq) == [1, 2])
            #expect(await bobsPhone.messages().map(\.content) == ["Hello over WebSocket", "Hello over REST"])
            // The sending device got an ack instead of its own message back.
            #expect(await phone.messages().map(\.seq) == [2])

            // Carol is not a member: her own chat's message reaches her, the team's never did.
            _ = try await client.send("Only mine", to: carolsOwn, token: carol.token)
            try await carolsPhone.recorder.wait("carol's own message") { $0.contains { $0.message?.content == "Only mine" } }
            #expect(await carolsPhone.messages().map(\.content) == ["Only mine"])

            for device in [phone, laptop, bobsPhone, carolsPhone] { await device.stop() }
        }
    }

    /// A message goes to the members its own transaction saw: someone removed just before never
    /// gets it, someone added just before does, live.
    @Test(arguments: TestEngine.all)
    func aMessageReachesTheMembersAsTheyWereWhenItWasStored(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, services in
            let alice = try await client.signUp("alice_1")
            let bob = try await client.signUp("bob_12")
            let carol = try await client.signUp("carol_1")
            let chat = try await client.createGroup(named: "Changing", members: [bob.user.id], token: alice.token)
            let bobsPhone = await TestDevice(client, token: bob.token)
            let carolsPhone = await TestDevice(client, token: carol.token)
            for device in [bobsPhone, carolsPhone] { try await device.ready() }
            _ = try await client.send("Before", to: chat, token: alice.token)
            try await bobsPhone.recorder.wait("the first message for bob") { $0.contains { $0.message?.content == "Before" } }

            let chatID = try #require(UUID(uuidString: chat))
            let aliceID = try #require(UUID(uuidString: alice.user.id))
            try await services.chats.removeMember(try #require(UUID(uuidString: bob.user.id)), from: chatID, by: aliceID)
            _ = try await services.chats.addMembers([carol.user.id], to: chatID, by: aliceID)
            _ = try await client.send("After", to: chat, token: alice.token)
            try await carolsPhone.recorder.wait("the message after she joined") { $0.contains { $0.message?.content == "After" } }
            // Bob's own chat gets a message after: once it is here, "After" would have been too.
            let bobsOwn = try await client.createGroup(named: "Bob's", members: [], token: bob.token)
            _ = try await client.send("Later, elsewhere", to: bobsOwn, token: bob.token)
            try await bobsPhone.recorder.wait("bob's own message") { $0.contains { $0.message?.content == "Later, elsewhere" } }
            try await Task.sleep(for: .milliseconds(200))
            #expect(await bobsPhone.messages().map(\.content) == ["Before", "Later, elsewhere"])
            // And he cannot post there any more: told it does not exist, nothing stored.
            do {
                _ = try await client.send("Still here?", to: chat, token: bob.token)
                Issue.record("a removed member posted")
            } catch let error as CourierAPIError {
                #expect(error.status == 404)
            }
            #expect(try await client.history(of: chat, token: alice.token).messages.map(\.content).filter { $0 == "Before" || $0 == "After" || $0 == "Still here?" }.sorted() == ["After", "Before"])
            for device in [bobsPhone, carolsPhone] { await device.stop() }
        }
    }

    @Test(arguments: TestEngine.all)
    func aReconnectingDeviceGetsExactlyWhatItMissedInOrder(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let alice = try await client.signUp("alice_1")
            let bob = try await client.signUp("bob_12")
            let chat = try await client.createGroup(named: "Team", members: [bob.user.id], token: alice.token)
            let first = await TestDevice(client, token: bob.token)
            try await first.ready()
            for index in 1...3 { _ = try await client.send("before \(index)", to: chat, token: alice.token) }
            try await first.recorder.wait("three messages") { $0.filter { $0.type == "new_message" }.count == 3 }
            let known = await first.connection.knownPositions
            await first.stop()
            #expect(known.chats[chat] == 3)

            // Offline: twelve more messages.
            for index in 4...15 { _ = try await client.send("while away \(index)", to: chat, token: alice.token) }

            // The same device reconnects with what it had: it gets 4…15, in order, once each,
            // also while new messages keep arriving during the catch-up.
            let back = await TestDevice(client, token: bob.token, positions: known)
            let sender = Task { for index in 16...25 { _ = try? await client.send("live \(index)", to: chat, token: alice.token) } }
            try await back.ready()
            await sender.value
            try await back.recorder.wait("everything up to 25") { frames in
                Set(frames.compactMap { $0.type == "new_message" ? $0.message?.seq : nil }).count == 22
            }
            let seqs = await back.messages().map(\.seq)
            #expect(seqs.count == 22, "duplicates: \(seqs)")
            #expect(Set(seqs) == Set(4...25))
            let resumed = await back.recorder.frames
            let resumedAt = try #require(resumed.firstIndex { $0.type == "resumed" })
            let history = resumed[..<resumedAt].compactMap(\.message).map(\.seq)
            #expect(history == Array(history.sorted()), "history in order")
            #expect(history.first == 4)
            await back.stop()
        }
    }

    @Test(arguments: TestEngine.all)
    func aDroppedConnectionComesBackAndCatchesUp(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let alice = try await client.signUp("alice_1")
            let bob = try await client.signUp("bob_12")
            let chat = try await client.createGroup(named: "Team", members: [bob.user.id], token: alice.token)
            let device = await TestDevice(client, token: bob.token)
            try await device.ready()
            _ = try await client.send("one", to: chat, token: alice.token)
            try await device.recorder.wait("first") { $0.contains { $0.message?.seq == 1 } }

            await device.connection.dropConnection()
            for index in 2...10 { _ = try await client.send("m\(index)", to: chat, token: alice.token) }
            try await device.recorder.wait("all ten after reconnecting") { frames in
                Set(frames.compactMap { $0.type == "new_message" ? $0.message?.seq : nil }) == Set(1...10)
            }
            #expect(await device.messages().count == 10)
            #expect(await device.recorder.connects >= 2)
            await device.stop()
        }
    }

    @Test(arguments: TestEngine.all)
    func aStalledDeviceDoesNotHoldOthersBackAndIsClosed(engine: TestEngine) async throws {
        let grace = Duration.seconds(30)
        // Pings far apart: the device does not read, so it would not answer them either, and this
        // is about the queue deciding (4008), not the heartbeat (1001), on a machine slow enough
        // to take a minute to fill it.
        let gateway = GatewayConfiguration(outgoingQueueLimit: 16, overflowGrace: grace, pingInterval: .seconds(600))
        try await withLiveServer(engine, gateway: gateway) { client, services in
            let alice = try await client.signUp("alice_1")
            let bob = try await client.signUp("bob_12")
            let stalled = try await client.signUp("stalled")
            let chat = try await client.createGroup(named: "Busy", members: [bob.user.id, stalled.user.id], token: alice.token)
            let bobsPhone = await TestDevice(client, token: bob.token)
            try await bobsPhone.ready()

            // A device that stops reading until told to. How its connection ended: the close frame
            // it read, or nil when the connection was cut (a reset) before it read one.
            let release = AsyncStream<Void>.makeStream()
            let stalledDevice = Task { () -> (frames: Int, closeCode: UInt16?) in
                let counter = Counter()
                do {
                    let close = try await WebSocketClient.connect(url: client.webSocketURL(token: stalled.token), logger: TestEngine.logger) { inbound, _, _ in
                        for await _ in release.stream { break }
                        var frames = 0
                        for try await _ in inbound.messages(maxSize: 1 << 20) { frames += 1 }
                        await counter.set(frames)
                    }
                    return (await counter.value, close.map { UInt16(webSocketErrorCode: $0.closeCode) })
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    return (await counter.value, nil)
                }
            }
            defer { stalledDevice.cancel() }
            try await waitUntil("both devices connected") { await services.registry.count == 2 }

            // Traffic until the server gives up on the stalled device. How much that takes depends
            // on the machine's socket buffers (megabytes on loopback, and the client's own), so the
            // test sends until the server has decided to close the device, not a fixed amount that
            // one machine's buffers may swallow whole.
            let stalledUserID = try #require(UUID(uuidString: stalled.user.id))
            let content = String(repeating: "x", count: 4000)
            var sent = 0
            var decided = false
            while !decided {
                try #require(sent < 20_000, "the stalled device was never closed")
                for _ in 1...50 { _ = try await client.send(content, to: chat, token: alice.token) }
                sent += 50
                // Closing, or (a machine slow enough for the grace to pass meanwhile) gone.
                let connection = await services.registry.openConnections().first { $0.userID == stalledUserID }
                if let reason = connection?.closeReason {
                    #expect(reason.code == ConnectionCloseReason.overflow.code)
                    decided = true
                } else if connection == nil {
                    decided = true
                }
            }
            let total = sent
            // Bob's phone was never held back by it.
            try await bobsPhone.recorder.wait("every message for bob", seconds: 60) { $0.filter { $0.type == "new_message" }.count == total }

            // Released, the device reads what reached it and then the close (4008), if it does so
            // within the grace the server gives it; otherwise the server cuts the connection when
            // the grace is over. Either way it ends: one the server kept open would be read
            // forever, so it is stopped a while after the grace instead, and the test fails.
            release.continuation.yield()
            let stoppedByTheTest = Counter()
            let watchdog = Task {
                try await Task.sleep(for: grace + .seconds(30))
                await stoppedByTheTest.increment()
                stalledDevice.cancel()
            }
            let result = try await stalledDevice.value
            watchdog.cancel()
            #expect(await stoppedByTheTest.value == 0, "the server never ended the stalled device's connection")
            // 4008 when it drained within the grace. When the grace ran out first, the server's
            // handler ends: WebSocket's generic close (1001, going away) is queued behind what is
            // left and the connection is reset, so the device sees that close or the reset.
            if let code = result.closeCode {
                #expect([ConnectionCloseReason.overflow.code, 1001].contains(code), "closed with \(code)")
                #expect(result.frames < total)
            }
            try await waitUntil("the stalled device's place given back") { await services.registry.count == 1 }
            await bobsPhone.stop()
        }
    }

    @Test(arguments: TestEngine.all)
    func badFramesGetErrorsAndTheConnectionStays(engine: TestEngine) async throws {
        try await withLiveServer(engine, gateway: GatewayConfiguration(maxFrameBytes: 8 * 1024)) { client, _ in
            let alice = try await client.signUp("alice_1")
            let bob = try await client.signUp("bob_12")
            let chat = try await client.createGroup(named: "Team", members: [], token: alice.token)
            let bobsChat = try await client.createGroup(named: "Bob's", members: [], token: bob.token)
            let device = await TestDevice(client, token: alice.token)
            try await device.ready()

            await device.connection.post(["not": "typed"])
            try await device.recorder.wait("error for a frame without type") { $0.contains { $0.type == "error" && $0.error?.code == "invalid_frame" } }
            let unknown = try await device.connection.request(["type": "dance"])
            #expect(unknown.type == "error")
            #expect(unknown.error?.code == "invalid_frame")
            let empty = try await device.connection.request(["type": "message", "chat_id": chat, "content": "  ", "client_msg_id": "e-1"])
            #expect(empty.type == "ack")
            #expect(empty.error?.code == "validation_failed")
            let notMine = try await device.connection.request(["type": "message", "chat_id": bobsChat, "content": "hi"])
            #expect(notMine.error?.code == "chat_not_found")
            let badID = try await device.connection.request(["type": "read", "chat_id": "nope", "seq": "x"])
            #expect(badID.error != nil)
            let pong = try await device.connection.request(["type": "ping"])
            #expect(pong.type == "pong")
            let ok = try await device.connection.send("still here", to: chat)
            #expect(ok.message?.seq == 1)
            // One rule and one error mapper with REST: a bad `for` is the same 400 error on both.
            let badScope = try await device.connection.request(["type": "delete", "message_id": try #require(ok.message?.id), "for": "them"])
            #expect(badScope.error?.code == "invalid_parameter")
            let rest = try await Live.call(client, .DELETE, "/api/v1/messages/\(try #require(ok.message?.id))?for=them", token: alice.token)
            #expect(rest.status == 400)
            #expect(rest.errorCode == "invalid_parameter")

            // An oversized frame closes the connection with 1009.
            await device.connection.post(["type": "message", "chat_id": .string(chat), "content": .string(String(repeating: "y", count: 10_000))])
            #expect(try await device.recorder.waitForClose() == 1009)
            await device.stop()
        }
    }

    @Test(arguments: TestEngine.all)
    func upgradesNeedATokenAndRoom(engine: TestEngine) async throws {
        try await withLiveServer(engine, gateway: GatewayConfiguration(maxConnections: 2)) { client, _ in
            let alice = try await client.signUp("alice_1")
            for token in ["", "garbage"] {
                do {
                    _ = try await WebSocketClient.connect(url: client.webSocketURL(token: token), logger: TestEngine.logger) { _, _, _ in }
                    Issue.record("upgrade with token '\(token)' was accepted")
                } catch {}
            }
            let unauthorized = await Self.upgradeStatus(client, token: "garbage")
            #expect(unauthorized == 401)

            #expect(await Self.upgradeStatus(client, token: alice.token) == 400)
            let first = await TestDevice(client, token: alice.token)
            let second = await TestDevice(client, token: alice.token)
            try await first.ready()
            try await second.ready()
            #expect(await Self.upgradeStatus(client, token: alice.token) == 503)
            do {
                _ = try await WebSocketClient.connect(url: client.webSocketURL(token: alice.token), logger: TestEngine.logger) { _, _, _ in }
                Issue.record("a third connection was accepted")
            } catch {}
            await second.stop()
            try await Task.sleep(for: .milliseconds(200))
            let third = await TestDevice(client, token: alice.token)
            try await third.ready()
            await first.stop()
            await third.stop()
        }
    }

    @Test(arguments: TestEngine.all)
    func presenceTypingReadsEditsAndDeletesAreLive(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let alice = try await client.signUp("alice_1")
            let bob = try await client.signUp("bob_12")
            let chat = try await client.createGroup(named: "Team", members: [bob.user.id], token: alice.token)
            let bobsPhone = await TestDevice(client, token: bob.token)
            try await bobsPhone.ready()
            let alicesPhone = await TestDevice(client, token: alice.token)
            try await alicesPhone.ready()
            try await bobsPhone.recorder.wait("alice online") { $0.contains { $0.type == "presence" && $0.userID == alice.user.id } }

            await alicesPhone.connection.subscribePresence([bob.user.id])
            try await alicesPhone.recorder.wait("bob's presence") { $0.contains { $0.type == "presence" && $0.userID == bob.user.id && $0.online == true } }
            await alicesPhone.connection.typing(in: chat)
            await alicesPhone.connection.typing(in: chat)
            try await bobsPhone.recorder.wait("typing") { $0.contains { $0.type == "typing" && $0.chatID == chat } }

            let sent = try await alicesPhone.connection.send("draft", to: chat)
            let id = try #require(sent.message?.id)
            let edit = try await alicesPhone.connection.edit(id, content: "final")
            #expect(edit.message?.content == "final")
            try await bobsPhone.recorder.wait("edit") { $0.contains { $0.type == "message_edited" && $0.message?.content == "final" } }
            let read = try await bobsPhone.connection.markRead(chat, upTo: 1)
            #expect(read.lastReadSeq == 1)
            try await alicesPhone.recorder.wait("read receipt") { $0.contains { $0.type == "read" && $0.userID == bob.user.id } }
            #expect(try await alicesPhone.connection.delete(id).error == nil)
            try await bobsPhone.recorder.wait("delete") { $0.contains { $0.type == "message_deleted" } }
            #expect(await bobsPhone.recorder.frames.filter { $0.type == "typing" }.count == 1)

            // Membership changes and channel posts are live too.
            let newGroup = try await client.createGroup(named: "New", members: [bob.user.id], token: alice.token)
            try await bobsPhone.recorder.wait("chat_joined") { $0.contains { $0.type == "chat_joined" && $0.chatID == newGroup } }
            struct Channel: Decodable { let id: String }
            let channel: Channel = try await client.call(.POST, "/api/v1/channels", body: ["name": "News"], token: alice.token)
            let _: Channel = try await client.call(.POST, "/api/v1/channels/\(channel.id)/subscribe", token: bob.token)
            let _: ChatMessage = try await client.call(.POST, "/api/v1/channels/\(channel.id)/posts", body: ["content": "Edition 1"], token: alice.token)
            try await bobsPhone.recorder.wait("channel post") { $0.contains { $0.type == "new_message" && $0.message?.content == "Edition 1" } }
            // A new subscriber is news for the channel's owner and admins, not for other subscribers.
            let carol = try await client.signUp("carol_1")
            let _: Channel = try await client.call(.POST, "/api/v1/channels/\(channel.id)/subscribe", token: carol.token)
            try await alicesPhone.recorder.wait("subscriber added") { frames in
                frames.contains { $0.type == "member_added" && $0.chatID == channel.id }
            }
            let _: Channel = try await client.call(.DELETE, "/api/v1/channels/\(channel.id)/subscribe", token: carol.token)
            try await alicesPhone.recorder.wait("subscriber removed") { frames in
                frames.contains { $0.type == "member_removed" && $0.chatID == channel.id }
            }
            // How far a subscriber has read is not news for anyone else.
            let marked = try await bobsPhone.connection.markRead(channel.id, upTo: 1)
            #expect(marked.lastReadSeq == 1)
            let marker = try await alicesPhone.connection.send("after the channel read", to: chat)
            #expect(marker.error == nil)
            try await bobsPhone.recorder.wait("marker") { $0.contains { $0.message?.content == "after the channel read" } }
            #expect(await alicesPhone.recorder.frames.contains { $0.type == "read" && $0.chatID == channel.id } == false)
            // Bob heard of his own subscription only.
            #expect(await bobsPhone.recorder.frames.filter { $0.type == "member_added" && $0.chatID == channel.id }.count == 1)

            await alicesPhone.stop()
            try await bobsPhone.recorder.wait("alice offline") { frames in
                frames.contains { $0.type == "presence" && $0.userID == alice.user.id && $0.online == false }
            }
            await bobsPhone.stop()
        }
    }
}

actor Counter {
    private(set) var value = 0
    func increment() { value += 1 }
    func set(_ value: Int) { self.value = value }
}

extension RealtimeTests {
    /// The status of a plain `GET /ws`, which says why an upgrade would be refused.
    static func upgradeStatus(_ client: CourierClient, token: String) async -> Int? {
        let request = HTTPClientRequest(url: "\(client.baseURL)/ws?token=\(token)")
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)) else { return nil }
        return Int(response.status.code)
    }
}
