@testable import CourierStore
import Foundation
import Testing

/// The hint of who posted where: remembered per chat, forgotten on request, and bounded.
@Suite("KnownPosters")
struct KnownPostersTests {
    @Test func remembersPostersPerChatForgetsThemAndStaysBounded() {
        let posters = KnownPosters(limit: 3)
        let (alice, bob) = (UUID(), UUID())
        let (chat, other) = (UUID(), UUID())
        posters.insert(alice, in: chat)
        #expect(posters.contains(alice, in: chat))
        #expect(!posters.contains(alice, in: other))
        #expect(!posters.contains(bob, in: chat))
        posters.remove(alice, in: chat)
        #expect(!posters.contains(alice, in: chat))
        // Full: it starts over rather than growing.
        for _ in 0..<3 { posters.insert(UUID(), in: chat) }
        posters.insert(bob, in: chat)
        #expect(posters.contains(bob, in: chat))
        #expect(posters.count == 1)
    }
}
