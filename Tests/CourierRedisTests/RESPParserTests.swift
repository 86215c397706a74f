import NIOCore
import Testing

@testable import CourierRedis

@Suite("RESP parser")
struct RESPParserTests {
    let parser = RESPParser()

    func parse(_ text: String) throws -> RESPValue? {
        var buffer = ByteBuffer(string: text)
        return try parser.next(from: &buffer)
    }

    @Test func everyTypeRoundTrips() throws {
        let values: [RESPValue] = [
            .simpleString("OK"), .error("ERR nope"), .integer(-42), .bulkString(ByteBuffer(string: "a\r\nb")), .bulkString(nil),
            .array(nil), .array([]), .array([.integer(1), .array([.bulkString(ByteBuffer(string: ""))]), .simpleString("x")]),
        ]
        for value in values {
            var buffer = ByteBuffer()
            value.write(to: &buffer)
            #expect(try parser.next(from: &buffer) == value)
            #expect(buffer.readableBytes == 0)
        }
    }

    /// A value split anywhere waits for the rest and consumes nothing until then.
    @Test func partialValuesWaitForTheRest() throws {
        var whole = ByteBuffer()
        RESPValue.array([.bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "chan")), .integer(7)]).write(to: &whole)
        let bytes = Array(whole.readableBytesView)
        for cut in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes[0..<cut])
            #expect(try parser.next(from: &buffer) == nil)
            #expect(buffer.readableBytes == cut)
            buffer.writeBytes(bytes[cut...])
            #expect(try parser.next(from: &buffer) != nil)
        }
    }

    @Test func malformedInputThrows() {
        for text in ["?x\r\n", ":12a\r\n", "$-2\r\n", "$3\r\nabcd\r\n", "*-5\r\n", "+ok\rX", "$999999999\r\n"] {
            #expect(throws: RESPParser.Malformed.self, "\(text.debugDescription)") { try parse(text) }
        }
        #expect(throws: RESPParser.Malformed.self) { try parse(String(repeating: "*1\r\n", count: 100) + ":1\r\n") }
    }

    /// Garbage never crashes the parser, never makes it loop, and never makes it take more than it
    /// was given: it either throws, waits, or returns a value that consumed bytes.
    @Test func randomGarbageNeverCrashes() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("+-:$*\r\n0123456789-abcOK".utf8)
        for round in 0..<20_000 {
            let length = Int.random(in: 0...64, using: &generator)
            let bytes: [UInt8] = (0..<length).map { _ in
                round % 2 == 0 ? alphabet.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            var buffer = ByteBuffer(bytes: bytes)
            var steps = 0
            while steps < 100 {
                steps += 1
                let before = buffer.readableBytes
                guard let value = try? parser.next(from: &buffer) else { break }
                _ = value
                #expect(buffer.readableBytes < before)
            }
            #expect(steps < 100)
        }
    }
}
