import Foundation
import LiaisonCore
import Testing

@Suite struct JSONValueTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue.parse(#"{"a": [1, 2.5, -3e2], "b": true, "c": null, "d": "x\u00e9\n", "e": {}}"#)
        #expect(value["a"] == .array([.number(1), .number(2.5), .number(-300)]))
        #expect(value["b"] == .bool(true))
        #expect(value["c"] == .null)
        #expect(value["d"] == .string("xé\n"))
        #expect(value["e"] == .object([:]))
    }

    @Test func invalidUTF8IsRefusedNotRepaired() throws {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse([0x22, 0xFF, 0x22] as [UInt8]) }
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse([0x7B, 0x22, 0xC3, 0x22, 0x3A, 0x31, 0x7D] as [UInt8]) }
        #expect(try JSONValue.parse(Array("\"caf\u{e9}\"".utf8)) == .string("caf\u{e9}"))
    }

    @Test func randomUUIDsAreVersion4AndDistinct() {
        let ids = (0..<1000).map { _ in RandomUUID.make() }
        #expect(Set(ids).count == 1000)
        for id in ids.prefix(50) {
            #expect(UUID(uuidString: id) != nil)
            #expect(id == id.lowercased())
            let characters = Array(id)
            #expect(characters[14] == "4")
            #expect("89ab".contains(characters[19]))
        }
    }

    @Test func booleansAreNotNumbers() throws {
        let value = try JSONValue.parse(#"{"t": true, "one": 1}"#)
        #expect(value["t"]?.boolValue == true)
        #expect(value["t"]?.intValue == nil)
        #expect(value["one"]?.boolValue == nil)
        #expect(value["one"]?.intValue == 1)
    }

    @Test(arguments: [
        "", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "tru", "01", "1.", "\"unterminated", "{\"a\":1} x",
        "{\"a\":1,\"a\":2}", "\"\\x\"", "\"\\ud800\"", "[" + String(repeating: "[", count: 100) + "]",
    ])
    func refusesWhatIsNotOneJSONValue(text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test func canonicalTextSortsKeysAndIgnoresWhiteSpace() throws {
        let first = try JSONValue.parse(#"{"b": 1, "a": {"y": [true, null], "x": "q\"uote"}}"#)
        let second = try JSONValue.parse(#"{ "a" : { "x" : "q\"uote", "y" : [ true , null ] } , "b" : 1.0 }"#)
        #expect(first.canonicalText == second.canonicalText)
        #expect(first.canonicalText == #"{"a":{"x":"q\"uote","y":[true,null]},"b":1}"#)
    }

    @Test(arguments: [0, 7, 10, 99, 100, -1, -10, -12_345, 30, 1_000_000, 999_999_999_999_999, -999_999_999_999_999])
    func canonicalTextWritesIntegersInDecimal(value: Int) {
        #expect(JSONValue.number(Double(value)).canonicalText == String(value))
    }

    @Test func canonicalTextRoundTrips() throws {
        let value = try JSONValue.parse(#"{"s": "tab\there \u0001", "n": 0.25, "l": [1, "2"]}"#)
        #expect(try JSONValue.parse(value.canonicalText) == value)
    }
}
