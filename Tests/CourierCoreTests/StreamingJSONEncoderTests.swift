@testable import CourierCore
import Foundation
import Testing

/// `StreamingJSONEncoder` writes the JSON `JSONEncoder` writes: byte for byte for scalars and
/// strings, the same document (keys in any order) for objects, and `JSONEncoder`'s own output
/// for encodings it cannot stream.
@Suite("Streaming JSON encoder")
struct StreamingJSONEncoderTests {
    /// Both encoders' JSON, parsed and written again with sorted keys, so key order does not count.
    func canonical(_ bytes: [UInt8]) throws -> String {
        let parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        return String(decoding: try JSONSerialization.data(withJSONObject: parsed, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
    }

    func expectSameDocument<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let streamed = try StreamingJSONEncoder().encode(value)
        let foundation = Array(try JSONEncoder().encode(value))
        #expect(try canonical(streamed) == canonical(foundation), "\(String(decoding: streamed, as: UTF8.self))", sourceLocation: sourceLocation)
    }

    func expectSameBytes<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let streamed = String(decoding: try StreamingJSONEncoder().encode(value), as: UTF8.self)
        let foundation = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        #expect(streamed == foundation, sourceLocation: sourceLocation)
    }

    @Test func stringsAreEscapedAsJSONEncoderEscapesThem() throws {
        let controls = String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) })
        for text in ["", "plain", controls, "quote \" backslash \\ slash / end", "é ü 漢字 🙂 \u{2028} \u{7f}", String(repeating: "ab/", count: 500)] {
            try expectSameBytes(text)
            try expectSameBytes([text: text])
        }
    }

    /// The escapes are found by a C string search (`strcspn`), which also stops at a NUL: a NUL
    /// inside the text, escapes at its ends or next to each other, short strings (stored inline)
    /// and long ones, and a string that is a slice of another are each written whole.
    @Test func escapesAreFoundAnywhereInTheText() throws {
        let long = String(repeating: "message text ", count: 700)
        for text in [
            "\u{0}", "a\u{0}b", "\u{0}\u{0}", "\"", "\"\"", "/x/", "\n\u{1f}\u{0}\\", "short\u{0}", "0123456789abcde\u{0}",
            long + "\u{0}" + long, "\"" + long + "\"", long + "\u{0}", "漢\u{0}字" + long + "🙂\n",
            String(long.dropFirst(3).dropLast(5)) + "/",
        ] {
            try expectSameBytes(text)
            try expectSameBytes(["k\u{0}/": text])
        }
    }

    @Test func numbersAreWrittenAsJSONEncoderWritesThem() throws {
        for value in [0, 9, 10, -1, Int.max, Int.min, 1_234_567_890] { try expectSameBytes(value) }
        try expectSameBytes([Int64.min, Int64.max])
        try expectSameBytes([UInt64.max, 0])
        try expectSameBytes([Int8.min, Int8.max])
        for value in [0.0, -0.0, 1.0, 0.1, 1.5, 1e20, 1e-7, 5e-324, Double.greatestFiniteMagnitude, -123.456, 1e15, 1e16] {
            try expectSameBytes(value)
        }
        try expectSameBytes([Float(1.5), Float(0.1), Float(-3), Float.greatestFiniteMagnitude])
        try expectSameBytes([true, false])
        try expectSameBytes([Int?.none, 1])
    }

    @Test func infinityAndNaNAreRefused() {
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode([Double.infinity]) }
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode(["x": Double.nan]) }
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode(Float.infinity) }
    }

    struct Inner: Codable, Equatable {
        var name: String
        var tags: [String]
        var score: Double?
    }

    struct Outer: Codable {
        var id = UUID(uuidString: "8A4E6A8E-0B0B-4C41-9E3B-4B7F2D1C0E55")!
        var count = 3
        var inner = Inner(name: "n/a", tags: ["x", "y\n"], score: nil)
        var list = [Inner(name: "a", tags: [], score: 2.5), Inner(name: "b", tags: ["c"], score: 1)]
        var nested: [[Int]] = [[], [1], [2, 3]]
        var map: [String: [String: Int]] = ["a": ["x": 1], "b": [:]]
        var numbered: [Int: String] = [1: "one", 2: "two"]
        var optional: String? = nil
        var present: String? = "here"
        var value: JSONValue = .object(["k": .array([.null, .bool(true), .number(1.5), .number(2), .string("s")])])
        var time = Timestamp(milliseconds: 1_764_000_000_123)
        var data = Data([0, 1, 2, 250])
        var url = URL(string: "https://example.com/a/b?c=d")!
        var date = Date(timeIntervalSince1970: 1_000_000)
    }

    @Test func objectsArraysAndFoundationTypesMakeTheSameDocument() throws {
        try expectSameDocument(Outer())
        try expectSameDocument([Outer(), Outer()])
        try expectSameDocument([String: Outer]())
        try expectSameDocument([Inner]())
    }

    @Test func datesFollowTheChosenStrategy() throws {
        let date = Date(timeIntervalSince1970: 1_000_000.5)
        let iso = JSONEncoder()
        iso.dateEncodingStrategy = .iso8601
        #expect(try StreamingJSONEncoder(dateEncoding: .iso8601).encode([date]) == Array(iso.encode([date])))
        #expect(try StreamingJSONEncoder().encode([date]) == Array(JSONEncoder().encode([date])))
    }

    /// Asks for its keyed container twice, with a nested container in between (as frames that
    /// add their positions do).
    struct TwoContainers: Encodable {
        enum Keys: String, CodingKey { case a, nested, b, list }
        func encode(to encoder: any Encoder) throws {
            var first = encoder.container(keyedBy: Keys.self)
            try first.encode("one", forKey: .a)
            var nested = first.nestedContainer(keyedBy: Keys.self, forKey: .nested)
            try nested.encode(1, forKey: .a)
            var list = first.nestedUnkeyedContainer(forKey: .list)
            try list.encode(true)
            var second = encoder.container(keyedBy: Keys.self)
            try second.encode("two", forKey: .b)
        }
    }

    struct EncodesNothing: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    struct HoldsNothing: Encodable {
        let nothing = EncodesNothing()
        let after = 1
    }

    @Test func containersAskedForAgainAndValuesThatWriteNothing() throws {
        try expectSameDocument(TwoContainers())
        try expectSameDocument(HoldsNothing())
        try expectSameDocument([EncodesNothing()])
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode(EncodesNothing()) }
    }

    /// Writes to a nested container after a later sibling: not streamable.
    struct OutOfOrder: Encodable {
        enum Keys: String, CodingKey { case first, second }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var first = container.nestedContainer(keyedBy: Keys.self, forKey: .first)
            var second = container.nestedContainer(keyedBy: Keys.self, forKey: .second)
            try second.encode(2, forKey: .second)
            try first.encode(1, forKey: .first)
        }
    }

    class Base: Encodable {
        var base = "b"
    }

    final class Derived: Base {
        var own = 1
        enum Keys: String, CodingKey { case own }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(own, forKey: .own)
            try super.encode(to: container.superEncoder())
        }
    }

    @Test func whatCannotBeStreamedIsEncodedByJSONEncoder() throws {
        try expectSameDocument(OutOfOrder())
        try expectSameDocument(["wrapped": [OutOfOrder()]])
        try expectSameDocument(Derived())
        try expectSameDocument(EmptySuper())
        try expectSameDocument(SwallowsAnError())
    }

    /// Asks for a super encoder and writes nothing into it (`JSONEncoder` writes `"super":{}`).
    struct EmptySuper: Encodable {
        enum Keys: String, CodingKey { case own }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(1, forKey: .own)
            _ = container.superEncoder()
        }
    }

    /// Swallows the error of a value it could not encode and goes on: streamed, the key would be
    /// left without a value.
    struct SwallowsAnError: Encodable {
        enum Keys: String, CodingKey { case bad, good }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try? container.encode(Double.nan, forKey: .bad)
            try container.encode(1, forKey: .good)
        }
    }

    /// A single value container holding a value that writes nothing: `{}`, not an error.
    struct WrapsNothing: Encodable {
        func encode(to encoder: any Encoder) throws {
            var single = encoder.singleValueContainer()
            try single.encode(EncodesNothing())
        }
    }

    @Test func aTopLevelValueWhoseSingleValueIsEmptyIsAnEmptyObject() throws {
        #expect(try StreamingJSONEncoder().encodeText(WrapsNothing()) == "{}")
        #expect(try StreamingJSONEncoder().encodeText([String: Int]()) == "{}")
    }

    struct Mixed: Encodable {
        enum Keys: String, CodingKey { case a }
        func encode(to encoder: any Encoder) throws {
            var list = encoder.unkeyedContainer()
            try list.encode(1)
            var keyed = encoder.container(keyedBy: Keys.self)
            try keyed.encode(2, forKey: .a)
        }
    }

    struct TwoSingleValues: Encodable {
        func encode(to encoder: any Encoder) throws {
            var single = encoder.singleValueContainer()
            try single.encode(1)
            try single.encode(2)
        }
    }

    @Test func aValueThatMixesContainersIsAnErrorNotACrash() {
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode(Mixed()) }
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode([TwoSingleValues()]) }
    }

    @Test func errorsNameWhereTheyHappened() {
        struct Holder: Encodable { let values: [String: [Double]] }
        do {
            _ = try StreamingJSONEncoder().encode(Holder(values: ["k": [1, .nan]]))
            Issue.record("NaN was encoded")
        } catch let EncodingError.invalidValue(_, context) {
            #expect(context.codingPath.map(\.stringValue) == ["values", "k", "Index 1"])
        } catch {
            Issue.record("\(error)")
        }
    }
}

@Suite("Timestamp text")
struct TimestampTextTests {
    /// The calendar arithmetic gives the text `Date`'s formatter gives, at the edges of months,
    /// leap days, centuries and at random across the years it covers.
    @Test func theFastTextIsTheTextThroughDate() {
        var samples: [Int64] = [0, -1, 1, 999, 1000, -1000, -999, 951_782_400_000, 951_868_799_999, 4_107_542_399_999, 253_402_300_799_999]
        // 1600-01-01 to 9999-12-31 (the arithmetic's years), 1000 to 1600 (through `Date`, whose
        // calendar is Julian before 1582), and the years around 1970.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 { samples.append(Int64.random(in: -11_676_096_000_000...253_402_300_799_999, using: &generator)) }
        for _ in 0..<1_000 { samples.append(Int64.random(in: -30_610_224_000_000 ... -11_676_096_000_000, using: &generator)) }
        for _ in 0..<5_000 { samples.append(Int64.random(in: -100_000_000_000...5_000_000_000_000, using: &generator)) }
        for milliseconds in samples {
            let time = Timestamp(milliseconds: milliseconds)
            guard time.description == time.formattedThroughDate else {
                Issue.record("\(milliseconds): \(time.description), through Date \(time.formattedThroughDate)")
                return
            }
        }
    }

    @Test func yearsOutsideFourDigitsStillFormat() {
        for milliseconds in [Int64(-40_000_000_000_000), 300_000_000_000_000, Int64.max, Int64.min] {
            let time = Timestamp(milliseconds: milliseconds)
            #expect(time.description == time.formattedThroughDate)
        }
    }
}
