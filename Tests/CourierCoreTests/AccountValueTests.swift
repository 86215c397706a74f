import CourierCore
import Foundation
import Testing

@Suite("Account values")
struct AccountValueTests {
    @Test(arguments: ["+14155550123", "+44 20 7946 0958", "+1 (415) 555-0123", "+491234567"])
    func validPhones(raw: String) throws {
        let phone = try PhoneNumber(raw)
        #expect(phone.value.hasPrefix("+"))
        #expect(phone.value.dropFirst().allSatisfy { $0.isNumber })
    }

    @Test(arguments: ["", "+", "14155550123", "+0123456789", "+123456", "+1234567890123456", "+1415555o123", "++14155550123", "+١٢٣٤٥٦٧٨"])
    func invalidPhones(raw: String) {
        #expect(throws: CourierError.self) { try PhoneNumber(raw) }
    }

    @Test func usernamesAreLowerCasedAndChecked() throws {
        #expect(try Username("Alice_01").value == "alice_01")
        for bad in ["abcd", String(repeating: "a", count: 33), "has space", "dash-name", "émile_x", "name!"] {
            #expect(throws: CourierError.self, "\(bad)") { try Username(bad) }
        }
        #expect(try Username(String(repeating: "a", count: 32)).value.count == 32)
    }

    @Test func emailsAreLowerCasedAndChecked() throws {
        #expect(try EmailAddress(" Alice@Example.COM ").value == "alice@example.com")
        for bad in ["", "alice", "alice@", "@example.com", "alice@example", "a b@example.com", "alice@@example.com", "alice@-x.com", "<a>@example.com"] {
            #expect(throws: CourierError.self, "\(bad)") { try EmailAddress(bad) }
        }
    }

    @Test func passwordsHaveALengthRange() throws {
        #expect(throws: CourierError.self) { try Password("1234567") }
        #expect(throws: CourierError.self) { try Password(String(repeating: "é", count: 37)) }
        _ = try Password("12345678")
        _ = try Password(String(repeating: "p", count: 72))
    }

    @Test func timestampsAreISO8601WithMilliseconds() throws {
        let time = Timestamp(milliseconds: 1_795_320_389_355)
        let data = try JSONEncoder().encode([time])
        #expect(String(decoding: data, as: UTF8.self) == #"["2026-11-22T04:06:29.355Z"]"#)
        #expect(try JSONDecoder().decode([Timestamp].self, from: data) == [time])
    }

    /// Every millisecond of a second is shown as stored and reads back as itself (formatting a
    /// `Date` cut …823 ms, which is …0.82299995 s, to .822).
    @Test func everyMillisecondIsShownExactly() throws {
        let second: Int64 = 1_796_192_080_000
        for millisecond in Int64(0)..<1000 {
            let time = Timestamp(milliseconds: second + millisecond)
            let digits = String(millisecond)
            #expect(time.description == "2026-12-02T06:14:40." + String(repeating: "0", count: 3 - digits.count) + digits + "Z")
            #expect(try JSONDecoder().decode([Timestamp].self, from: JSONEncoder().encode([time])) == [time])
        }
        #expect(Timestamp(milliseconds: 0).description == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(milliseconds: -1).description == "1969-12-31T23:59:59.999Z")
    }
}
