import CourierClient
import CourierCore
@testable import CourierServer
import Foundation
import Testing

/// Calls over the WebSocket, on both engines: every device of the callee rings, the first answer
/// wins and the others stop, frames of an answered call reach the other device in it only, and each
/// end (hang-up, decline, cancel, miss, busy, lost) reaches both people and leaves its line in the DM.
@Suite("Calls")
struct CallTests {
    static let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 192.168.1.20\r\n"
        + "a=candidate:1 1 udp 2122260223 192.168.1.20 50000 typ host\r\n"
        + "a=candidate:2 1 udp 1686052607 203.0.113.7 50001 typ srflx raddr 192.168.1.20 rport 50000\r\n"
        + "a=candidate:3 1 udp 41885439 198.51.100.1 3478 typ relay raddr 203.0.113.7 rport 50001\r\n"

    struct People {
        let alice: SignedIn, bob: SignedIn, bobTablet: SignedIn, carol: SignedIn
        let dm: String
    }

    func people(_ client: CourierClient, _ suffix: String) async throws -> People {
        let alice = try await client.signUp("alice_c\(suffix)")
        let bob = try await client.signUp("bob_c\(suffix)")
        let bobTablet = try await client.login(username: "bob_c\(suffix)", password: "correct horse battery")
        let carol = try await client.signUp("carol_c\(suffix)")
        let dm = try await client.directChat(with: bob.user.id, token: alice.token)
        return People(alice: alice, bob: bob, bobTablet: bobTablet, carol: carol, dm: dm)
    }

    func invite(_ device: TestDevice, _ chat: String, video: Bool = false) async throws -> String {
        let ack = try await device.connection.request(["type": "call_invite", "chat_id": .string(chat), "video": .bool(video), "sdp": .string(Self.offer)])
        #expect(ack.error == nil, "\(ack.error?.code ?? "")")
        return try #require(ack.callID)
    }

    func callFrames(_ device: TestDevice, _ type: String) async -> [RealtimeConnection.ServerEvent] {
        await device.recorder.frames.filter { $0.type == type }
    }

    @Test(arguments: TestEngine.all)
    func everyDeviceRingsTheFirstAnswerWinsAndTheCallIsPrivateToItsTwoDevices(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let p = try await people(client, "1")
            let alice = await TestDevice(client, token: p.alice.token)
            let phone = await TestDevice(client, token: p.bob.token)
            let tablet = await TestDevice(client, token: p.bobTablet.token)
            for device in [alice, phone, tablet] { try await device.ready() }

            let call = try await invite(alice, p.dm, video: true)
            for device in [phone, tablet] {
                try await device.recorder.wait("ringing on every device") { $0.contains { $0.type == "call_incoming" && $0.callID == call } }
            }
            let incoming = await callFrames(phone, "call_incoming")
            #expect(incoming.first?.sdp == Self.offer)
            await tablet.connection.post(["type": "call_ringing", "call_id": .string(call)])
            try await alice.recorder.wait("the caller hears it ring") { $0.contains { $0.type == "call_ringing" } }

            // The phone answers first; the tablet is too late and stops ringing.
            let answer = try await phone.connection.request(["type": "call_accept", "call_id": .string(call), "sdp": "v=0 answer"])
            #expect(answer.callState == "active")
            let late = try await tablet.connection.request(["type": "call_accept", "call_id": .string(call), "sdp": "v=0 late"])
            #expect(late.error?.code == "call_not_ringing")
            try await alice.recorder.wait("the answer reaches the caller") { $0.contains { $0.type == "call_accepted" && $0.sdp == "v=0 answer" } }
            try await tablet.recorder.wait("the tablet stops ringing") { $0.contains { $0.type == "call_accepted" && $0.answeredElsewhere == true } }
            let elsewhere = await callFrames(tablet, "call_accepted")
            #expect(elsewhere.allSatisfy { $0.sdp == nil })

            // Candidates and media states go to the other device in the call only.
            await alice.connection.post(["type": "call_ice", "call_id": .string(call), "candidate": "candidate:9 1 udp 1 198.51.100.9 3478 typ relay"])
            await alice.connection.post(["type": "call_media", "call_id": .string(call), "muted": .bool(true)])
            try await phone.recorder.wait("the candidate and the mute") { frames in
                frames.contains { $0.type == "call_ice" } && frames.contains { $0.type == "call_media" && $0.muted == true }
            }
            let strayed = try await tablet.connection.request(["type": "call_hangup", "call_id": .string(call)])
            #expect(strayed.error == nil, "any device of a person in a call may hang it up")
            for device in [alice, phone, tablet] {
                try await device.recorder.wait("the end everywhere") { $0.contains { $0.type == "call_ended" && $0.outcome == "completed" } }
            }
            let strayFrames = await callFrames(tablet, "call_ice") + callFrames(tablet, "call_media")
            #expect(strayFrames.isEmpty)
            // Its line in the DM.
            try await alice.recorder.wait("the call's line") { $0.contains { $0.message?.content.hasPrefix("Video call · ") == true } }
            for device in [alice, phone, tablet] { await device.stop() }
        }
    }

    @Test(arguments: TestEngine.all)
    func declinedCancelledMissedAndBusyCallsEndForBothSides(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, services in
            let p = try await people(client, "2")
            let alice = await TestDevice(client, token: p.alice.token)
            let bob = await TestDevice(client, token: p.bob.token)
            let carol = await TestDevice(client, token: p.carol.token)
            for device in [alice, bob, carol] { try await device.ready() }

            let declined = try await invite(alice, p.dm)
            #expect(try await bob.connection.request(["type": "call_reject", "call_id": .string(declined)]).error == nil)
            try await alice.recorder.wait("declined") { $0.contains { $0.callID == declined && $0.outcome == "declined" } }

            let cancelled = try await invite(alice, p.dm)
            #expect(try await alice.connection.request(["type": "call_hangup", "call_id": .string(cancelled)]).error == nil)
            try await bob.recorder.wait("cancelled") { $0.contains { $0.callID == cancelled && $0.outcome == "cancelled" } }

            // Nobody answers: after the ringing time the call is missed (the sweep is asked as if 31 s had passed).
            let missed = try await invite(alice, p.dm)
            try await services.calls.endOverdue(at: .now().adding(seconds: CallLimits.ringingSeconds + 1))
            try await bob.recorder.wait("missed") { $0.contains { $0.callID == missed && $0.outcome == "missed" } }

            // Bob is in a call with Alice; Carol calling him finds him busy, and Alice cannot place a second call.
            let talking = try await invite(alice, p.dm)
            _ = try await bob.connection.request(["type": "call_accept", "call_id": .string(talking), "sdp": "v=0"])
            let carolsDM = try await client.directChat(with: p.bob.user.id, token: p.carol.token)
            let busy = try await invite(carol, carolsDM)
            try await carol.recorder.wait("busy") { $0.contains { $0.callID == busy && $0.outcome == "busy" } }
            let second = try await alice.connection.request(["type": "call_invite", "chat_id": .string(p.dm), "sdp": .string(Self.offer)])
            #expect(second.error?.code == "already_in_call")

            // A side that goes silent for a minute ends the call as lost.
            try await services.calls.endOverdue(at: .now().adding(seconds: CallLimits.silenceSeconds + 1))
            try await alice.recorder.wait("lost") { $0.contains { $0.callID == talking && $0.outcome == "lost" } }

            // Every call left its line, worded for both sides from metadata.call.
            let history = try await client.history(of: p.dm, token: p.alice.token)
            let lines = history.messages.compactMap(\.content)
            for text in ["Declined call", "Cancelled call", "Missed call"] {
                #expect(lines.contains(text), "\(text) in \(lines)")
            }
            // A lost call lasted until its silent side was last heard of, not until the sweep.
            #expect(lines.contains { $0.hasPrefix("Call · 0:0") }, "the lost call's length, \(lines)")
            let carolsLines = try await client.history(of: carolsDM, token: p.carol.token).messages.map(\.content)
            #expect(carolsLines == ["Missed call (busy)"])
            for device in [alice, bob, carol] { await device.stop() }
        }
    }

    @Test(arguments: TestEngine.all)
    func onlyTheTwoPeopleOfADMCallAndNobodyForgesACallLine(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let p = try await people(client, "3")
            let alice = await TestDevice(client, token: p.alice.token)
            let carol = await TestDevice(client, token: p.carol.token)
            for device in [alice, carol] { try await device.ready() }
            // Carol is not in Alice and Bob's DM: it does not exist for her.
            let outsider = try await carol.connection.request(["type": "call_invite", "chat_id": .string(p.dm), "sdp": .string(Self.offer)])
            #expect(outsider.error?.code == "chat_not_found")
            let call = try await invite(alice, p.dm)
            for type in ["call_accept", "call_reject", "call_hangup"] {
                let refused = try await carol.connection.request(["type": .string(type), "call_id": .string(call), "sdp": "v=0"])
                #expect(refused.error?.code == "call_not_found", "\(type)")
            }
            // Groups have no calls.
            let group = try await client.createGroup(named: "No calls", members: [p.bob.user.id], token: p.alice.token)
            _ = try await alice.connection.request(["type": "call_hangup", "call_id": .string(call)])
            let inGroup = try await alice.connection.request(["type": "call_invite", "chat_id": .string(group), "sdp": .string(Self.offer)])
            #expect(inGroup.error?.code == "calls_are_one_to_one")
            // Bad input is told, never a crash.
            let huge = try await alice.connection.request(["type": "call_invite", "chat_id": .string(p.dm), "sdp": .string(String(repeating: "a", count: 20_000))])
            #expect(huge.error?.code == "invalid_parameter" || huge.error?.code == "validation_failed", "\(huge.error?.code ?? "")")
            let noID = try await alice.connection.request(["type": "call_accept", "call_id": "nope", "sdp": "v=0"])
            #expect(noID.error != nil)
            // A call's line cannot be forged by a client.
            let forged = try await Live.call(client, .POST, "/api/v1/messages", json: [
                "chat_id": p.dm, "content": "Video call · 59:59", "metadata": ["call": ["outcome": "completed"]],
            ], token: p.alice.token)
            #expect(forged.status == 400 || forged.status == 422)
            for device in [alice, carol] { await device.stop() }
        }
    }

    @Test(arguments: TestEngine.all)
    func aDeviceThatReconnectsMidCallStaysInIt(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let p = try await people(client, "4")
            let alice = await TestDevice(client, token: p.alice.token)
            let bob = await TestDevice(client, token: p.bob.token)
            for device in [alice, bob] { try await device.ready() }
            let call = try await invite(alice, p.dm)
            _ = try await bob.connection.request(["type": "call_accept", "call_id": .string(call), "sdp": "v=0"])
            await alice.connection.dropConnection()
            try await alice.recorder.wait("reconnected", seconds: 15) { $0.filter { $0.type == "resumed" }.count >= 2 }
            let current = try await Live.call(client, .GET, "/api/v1/calls/current", token: p.alice.token).json
            let found = try #require(current["call"] as? [String: Any])
            #expect(found["id"] as? String == call && found["state"] as? String == "active" && found["on_this_device"] as? Bool == true)
            await bob.connection.post(["type": "call_ice", "call_id": .string(call), "candidate": "candidate:1 1 udp 1 198.51.100.2 3478 typ relay"])
            try await alice.recorder.wait("signalling reaches the reconnected device") { $0.contains { $0.type == "call_ice" } }
            #expect(try await alice.connection.request(["type": "call_hangup", "call_id": .string(call)]).error == nil)
            for device in [alice, bob] { await device.stop() }
        }
    }

    @Test(arguments: TestEngine.all)
    func relayOnlyPeopleNeverShowTheirAddress(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let p = try await people(client, "5")
            #expect(try await Live.call(client, .PATCH, "/api/v1/calls/settings", json: ["relay_only": true], token: p.alice.token).status == 200)
            let alice = await TestDevice(client, token: p.alice.token)
            let bob = await TestDevice(client, token: p.bob.token)
            for device in [alice, bob] { try await device.ready() }
            let call = try await invite(alice, p.dm)
            try await bob.recorder.wait("the call") { $0.contains { $0.type == "call_incoming" } }
            let sdp = try #require(await callFrames(bob, "call_incoming").first?.sdp)
            #expect(!sdp.contains("192.168.1.20") && !sdp.contains("203.0.113.7") && sdp.contains("typ relay"))
            _ = try await bob.connection.request(["type": "call_accept", "call_id": .string(call), "sdp": "v=0"])
            await alice.connection.post(["type": "call_ice", "call_id": .string(call), "candidate": "candidate:1 1 udp 1 192.168.1.20 5000 typ host"])
            await alice.connection.post(["type": "call_ice", "call_id": .string(call), "candidate": "candidate:3 1 udp 4 198.51.100.1 3478 typ relay raddr 203.0.113.7 rport 1"])
            try await bob.recorder.wait("the relay candidate") { $0.contains { $0.type == "call_ice" } }
            let candidates = await callFrames(bob, "call_ice").compactMap(\.candidate)
            #expect(candidates == ["candidate:3 1 udp 4 198.51.100.1 3478 typ relay raddr 0.0.0.0 rport 0"])
            for device in [alice, bob] { await device.stop() }
        }
    }
}

/// TURN credentials in coturn's `use-auth-secret` scheme, and the relay-only filter on its own.
@Suite("TURN credentials and relay-only signalling")
struct TURNCredentialTests {
    @Test func credentialsAreCoturnsRESTScheme() {
        let user = UUID(uuidString: "6f1c0a4e-2d1b-4c89-9a59-0f6a4f0f1f01")!
        let now = Timestamp(milliseconds: 1_800_000_000_000)
        let credentials = TURNCredentials(userID: user, secret: "north-wind-secret", now: now, ttl: .seconds(3600))
        #expect(credentials.username == "1800003600:6f1c0a4e-2d1b-4c89-9a59-0f6a4f0f1f01")
        #expect(credentials.expiresAt == Timestamp(milliseconds: 1_800_003_600_000))
        // What coturn computes: base64(HMAC-SHA1(secret, username)), 20 bytes.
        #expect(Data(base64Encoded: credentials.password)?.count == 20)
        #expect(credentials.password == TURNCredentials.password(for: credentials.username, secret: "north-wind-secret"))
        #expect(credentials.password != TURNCredentials.password(for: credentials.username, secret: "another-secret-x"))
    }

    @Test func settingsAreChecked() throws {
        #expect(throws: ConfigurationError.self) { try TURNSettings.resolve(environment: ["COURIER_TURN_URLS": "turn:turn.example.com"]) }
        #expect(throws: ConfigurationError.self) { try TURNSettings.resolve(environment: ["COURIER_TURN_URLS": "http://x", "COURIER_TURN_SECRET": "0123456789abcdef"]) }
        let settings = try TURNSettings.resolve(environment: [
            "COURIER_TURN_URLS": "stun:turn.example.com, turn:turn.example.com:3478?transport=udp", "COURIER_TURN_SECRET": "0123456789abcdef",
            "COURIER_TURN_TTL_SECONDS": "600",
        ])
        #expect(settings.urls.count == 2 && settings.ttl == .seconds(600))
    }

    @Test func relayOnlyKeepsRelayCandidatesAndNoAddress() {
        let filtered = RelayOnlySignalling.filter(sdp: CallTests.offer)
        #expect(!filtered.contains("192.168.1.20") && !filtered.contains("203.0.113.7"))
        #expect(filtered.contains("a=candidate:3 1 udp 41885439 198.51.100.1 3478 typ relay raddr 0.0.0.0 rport 0\r\n"))
        #expect(filtered.contains("c=IN IP4 0.0.0.0\r\n"))
        #expect(filtered.contains("o=- 1 2 IN IP4 0.0.0.0\r\n"), "the origin line keeps its form: \(filtered)")
        #expect(RelayOnlySignalling.filter(candidate: "candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host") == nil)
        #expect(RelayOnlySignalling.filter(candidate: "garbage") == nil)
        // Written the ways a lenient parser still reads: nothing with an address gets through.
        let odd = "v=0\r\no=- 1 2 IN IP4 192.168.1.22\r\nA=candidate:1 1 udp 1 192.168.1.10 5000 typ host\r\n a=Candidate:2 1 udp 1 192.168.1.11 5000 TYP host\r\n"
            + "a=candidate:\u{301}3 1 udp 1 192.168.1.12 5000 typ host\r\nc=in  ip4 192.168.1.17\r\na=remote-candidates:1 192.168.1.23 5000\r\n"
            + "a=candidate:4 1 udp 1 198.51.100.1 3478 TYP Relay RADDR 192.168.1.30 RPORT 9\r\n"
        let cleaned = RelayOnlySignalling.filter(sdp: odd)
        #expect(!cleaned.contains("192.168"), "\(cleaned)")
        #expect(cleaned.contains("198.51.100.1 3478 TYP Relay RADDR 0.0.0.0 RPORT 0"))
    }
}
