import CourierCore
import Foundation
import Testing

@Suite("UUID text")
struct UUIDTextTests {
    @Test func writesWhatFoundationWrites() {
        for id in (0..<2_000).map({ _ in UUID() }) + [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))] {
            #expect(id.uppercasedString == id.uuidString)
            #expect(id.lowercasedString == id.uuidString.lowercased())
        }
        let all = UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255))
        #expect(all.lowercasedString == "ffffffff-ffff-ffff-ffff-ffffffffffff")
    }

    @Test func readsWhatFoundationReads() {
        for id in (0..<2_000).map({ _ in UUID() }) {
            #expect(UUID(text: id.uuidString) == id)
            #expect(UUID(text: id.uuidString.lowercased()) == id)
            #expect(UUID(text: String(id.uuidString.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.lowercased()) : $0.element })) == id)
        }
    }

    @Test(arguments: [
        "", "not an id", "E621E1F8-C36C-495A-93FC-0C247A3E6E5", "E621E1F8-C36C-495A-93FC-0C247A3E6E5F0",
        "E621E1F8C36C-495A-93FC-0C247A3E6E5F0", "E621E1F8-C36C-495A-93FC+0C247A3E6E5F", "G621E1F8-C36C-495A-93FC-0C247A3E6E5F",
        "E621E1F8-C36C-495A-93FC-0C247A3E6E5ü", " E621E1F8-C36C-495A-93FC-0C247A3E6E5", "{621E1F8-C36C-495A-93FC-0C247A3E6E5F",
    ])
    func refusesWhatIsNotAnID(text: String) {
        // Stricter than Foundation, which lets a digit go missing after a space (its `sscanf`
        // skips blanks); the store falls back to Foundation for whatever this refuses.
        #expect(UUID(text: text) == nil)
    }

    @Test func randomIDsAreVersionFourAndDistinct() {
        let ids = (0..<10_000).map { _ in UUID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let text = id.lowercasedString
            // `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`, what Foundation's `UUID()` makes.
            #expect(Array(text)[14] == "4")
            #expect("89ab".contains(Array(text)[19]))
            #expect(UUID(uuidString: text) == id)
        }
        // Every other bit varies: a fixed byte would show here as a byte that never changed.
        let first = ids[0]
        let varying = (0..<16).filter { index in
            ids.contains { withUnsafeBytes(of: $0.uuid) { $0[index] } != withUnsafeBytes(of: first.uuid) { $0[index] } }
        }
        #expect(varying.count == 16)
    }

    @Test func timeOrderedIDsCarryTheirTimeAndSortByIt() {
        let start: Int64 = 1_764_806_400_000  // 2025-12-04
        let ids = (0..<2_000).map { UUID.timeOrdered(milliseconds: start + Int64($0 / 4)) }
        #expect(Set(ids).count == ids.count)
        for (offset, id) in ids.enumerated() {
            let text = id.lowercasedString
            #expect(Array(text)[14] == "7")
            #expect("89ab".contains(Array(text)[19]))
            let time = withUnsafeBytes(of: id.uuid) { raw in (0..<6).reduce(Int64(0)) { $0 << 8 | Int64(raw[$1]) } }
            #expect(time == start + Int64(offset / 4))
        }
        // Ids of later milliseconds sort after, in the text SQLite stores and in the bytes PostgreSQL compares.
        for (earlier, later) in zip(ids, ids.dropFirst(4)) {
            #expect(earlier.uppercasedString < later.uppercasedString)
        }
    }
}
