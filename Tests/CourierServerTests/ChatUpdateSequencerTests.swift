import CourierClient
import CourierCore
import CourierRealtime
@testable import CourierServer
import CourierStore
import Foundation
import Testing

/// The sequencer on its own, over a real store: updates that arrive out of order leave in order,
/// and one that never arrives is read from the log after a short wait.
@Suite("ChatUpdateSequencer", .timeLimit(.minutes(1)))
struct ChatUpdateSequencerTests {
    /// A chat with five messages, Bob's device on a registry of the test's own, and a sequencer
    /// delivering to it; `body` gets the chat's updates (by `pts`) and the sequencer. The sequencer
    /// follows chats from after the messages were stored, or, with `followingBeforeMessages`, from
    /// before (as if they were still on their way to it).
    func withSequencer(
        followingBeforeMessages: Bool = false, gapPatience: Duration = .milliseconds(30), ackPatience: Duration = .milliseconds(150),
        _ body: @Sendable ([Int64: ChatUpdate], ChatUpdateSequencer, CollectedDevice) async throws -> Void
    ) async throws {
        try await withLiveServer(.sqlite) { client, services in
            let alice = try await client.signUp("alice_sq")
            let bob = try await client.signUp("bob_sq")
            let chat = try #require(UUID(uuidString: try await client.createGroup(named: "Order", members: [bob.user.id], token: alice.token)))
            let beforeMessages = Timestamp.now()
            for index in 1...5 { _ = try await client.send("message \(index)", to: chat.uuidString, token: alice.token) }
            // Timestamps are in milliseconds: the messages must be strictly older than a start after them.
            try await Task.sleep(for: .milliseconds(2))
            let updates = try await services.store.updates.chatUpdates(of: chat, after: 0, limit: 100)
            let registry = ConnectionRegistry(maxConnections: 10)
            let device = DeviceConnection(userID: try #require(UUID(uuidString: bob.user.id)), sessionID: UUID(), queueLimit: 100)
            _ = await registry.admit(device, expiresAt: .now().adding(seconds: 600))
            let delivery = LocalDelivery(registry: registry, chats: services.store.chats, messages: services.store.messages, logger: TestEngine.logger)
            let sequencer = ChatUpdateSequencer(
                delivery: delivery, updates: services.store.updates, gapPatience: gapPatience, ackPatience: ackPatience,
                followingSince: followingBeforeMessages ? beforeMessages : .now(), startSlack: .zero, logger: TestEngine.logger
            )
            try await body(Dictionary(uniqueKeysWithValues: updates.map { ($0.pts, $0) }), sequencer, CollectedDevice(device))
        }
    }

    /// The positions of the next `count` frames the device gets.
    func positions(_ device: CollectedDevice, count: Int) async throws -> [Int64] {
        var received: [Int64] = []
        for await frame in device.outgoing {
            received.append(try #require(frame.position?.pts))
            if received.count == count { break }
        }
        return received
    }

    @Test func updatesThatOvertakeEachOtherLeaveInOrder() async throws {
        try await withSequencer { updates, sequencer, device in
            let newest = try #require(updates.keys.max())
            // The chat is followed from the update before the newest three.
            await sequencer.stored([try #require(updates[newest - 3])], messages: [:], excluding: nil)
            #expect(try await positions(device, count: 1) == [newest - 3])
            // Three senders' updates arrive newest first, within the sequencer's patience for a gap.
            let late = [try #require(updates[newest]), try #require(updates[newest - 1])]
            let senders = late.map { update in Task { await sequencer.stored([update], messages: [:], excluding: nil) } }
            try await Task.sleep(for: .milliseconds(5))
            await sequencer.stored([try #require(updates[newest - 2])], messages: [:], excluding: nil)
            for sender in senders { await sender.value }
            #expect(try await positions(device, count: 3) == [newest - 2, newest - 1, newest])
        }
    }

    @Test func anUpdateThatNeverArrivesIsReadFromTheLog() async throws {
        try await withSequencer { updates, sequencer, device in
            let newest = try #require(updates.keys.max())
            await sequencer.stored([try #require(updates[newest - 2])], messages: [:], excluding: nil)
            #expect(try await positions(device, count: 1) == [newest - 2])
            // newest - 1 is announced nowhere: after the short wait, the log gives it (with its message).
            await sequencer.stored([try #require(updates[newest])], messages: [:], excluding: nil)
            var texts: [String] = []
            for await frame in device.outgoing {
                texts.append(frame.text)
                if texts.count == 2 { break }
            }
            #expect(texts[0].contains("\"pts\":\(newest - 1)") && texts[0].contains("message 4"))
            #expect(texts[1].contains("\"pts\":\(newest)"))
        }
    }

    @Test func sendersWaitingBehindAGapAreReleasedAfterTheirPatienceByOneTimer() async throws {
        try await withSequencer(gapPatience: .seconds(2), ackPatience: .milliseconds(100)) { updates, sequencer, device in
            let newest = try #require(updates.keys.max())
            await sequencer.stored([try #require(updates[newest - 3])], messages: [:], excluding: nil)
            #expect(try await positions(device, count: 1) == [newest - 3])
            // newest - 2 is missing for longer than the senders' patience: each of them returns
            // after its own patience, before the gap is read, and one timer served them all.
            let timersBefore = await sequencer.patienceTimersStarted
            let clock = ContinuousClock()
            let started = clock.now
            let late = [try #require(updates[newest - 1]), try #require(updates[newest])]
            let senders = (0..<10).map { index in
                Task { await sequencer.stored([late[index % 2]], messages: [:], excluding: nil) }
            }
            for sender in senders { await sender.value }
            let waited = clock.now - started
            #expect(waited >= .milliseconds(100) && waited < .seconds(2))
            // The first sender's timer may still have been running: then none was started.
            #expect(await sequencer.patienceTimersStarted - timersBefore <= 1)
        }
    }

    @Test func anUpdateGoesToTheMembersItsTransactionRead() async throws {
        try await withSequencer { updates, sequencer, device in
            let newest = try #require(updates.keys.max())
            await sequencer.stored([try #require(updates[newest - 2])], messages: [:], excluding: nil)
            #expect(try await positions(device, count: 1) == [newest - 2])
            // As if Bob had been removed in the transaction of newest - 1: it reads no members,
            // and its run goes to nobody. newest comes without members and reads them: Bob again.
            let chatID = try #require(updates[newest]?.chatID)
            await sequencer.stored([try #require(updates[newest - 1])], messages: [:], members: [chatID: []], excluding: nil)
            await sequencer.stored([try #require(updates[newest])], messages: [:], excluding: nil)
            #expect(try await positions(device, count: 1) == [newest])
        }
    }

    @Test func hintedPositionsAreReadAndMergedWithLocalOnes() async throws {
        try await withSequencer { updates, sequencer, device in
            let newest = try #require(updates.keys.max())
            await sequencer.stored([try #require(updates[newest - 3])], messages: [:], excluding: nil)
            #expect(try await positions(device, count: 1) == [newest - 3])
            // Another node stored two of them; this node the last.
            let local = try #require(updates[newest])
            let sender = Task { await sequencer.stored([local], messages: [:], excluding: nil) }
            await sequencer.hinted(StoredRange(stream: local.chatID, first: newest - 2, last: newest - 1))
            await sender.value
            #expect(try await positions(device, count: 3) == [newest - 2, newest - 1, newest])
        }
    }

    @Test func aNewStreamStartsWithTheUpdatesStillOnTheirWay() async throws {
        try await withSequencer(followingBeforeMessages: true) { updates, sequencer, device in
            let newest = try #require(updates.keys.max())
            let oldest = try #require(updates.keys.min())
            // The chat's first update to reach this node is its newest; the others, stored since the
            // node follows chats, have not (a hint or a task late). They go out first, in order.
            await sequencer.stored([try #require(updates[newest])], messages: [:], excluding: nil)
            #expect(try await positions(device, count: Int(newest - oldest + 1)) == Array(oldest...newest))
            // Their hints arriving afterwards repeat nothing.
            await sequencer.hinted(StoredRange(stream: try #require(updates[newest]).chatID, first: oldest, last: newest - 1))
            await sequencer.stored([try #require(updates[newest - 1])], messages: [:], excluding: nil)
            try await Task.sleep(for: .milliseconds(100))
            device.send("marker")
            for await frame in device.outgoing {
                #expect(frame.text == "marker")
                break
            }
        }
    }

    @Test func aNewStreamStartedByAHintStartsWithTheUpdatesStillOnTheirWay() async throws {
        try await withSequencer(followingBeforeMessages: true) { updates, sequencer, device in
            let newest = try #require(updates.keys.max())
            let oldest = try #require(updates.keys.min())
            // Another node's hint for the newest arrives first; the others' hints are late.
            await sequencer.hinted(StoredRange(stream: try #require(updates[newest]).chatID, first: newest, last: newest))
            #expect(try await positions(device, count: Int(newest - oldest + 1)) == Array(oldest...newest))
        }
    }

    @Test func aNewStreamDoesNotRepeatWhatWasStoredBeforeTheNodeFollowedChats() async throws {
        try await withSequencer { updates, sequencer, device in
            let newest = try #require(updates.keys.max())
            await sequencer.hinted(StoredRange(stream: try #require(updates[newest]).chatID, first: newest, last: newest))
            #expect(try await positions(device, count: 1) == [newest])
        }
    }
}
