import Foundation

/// Writes plain `Encodable` records (structs, arrays, optionals, strings, numbers, booleans, string enums)
/// as compact JSON bytes that `JSONDecoder` reads back, several times faster than `JSONEncoder`, which
/// builds a tree and checks every value for special types on the way.
///
/// Values are written as they are encoded; a container is closed when the `encode(to:)` that opened it
/// returns. What this cannot write exactly as `JSONEncoder` would (Date, Data, URL, Decimal, nested or
/// super encoders, a second container on one encoder, non-finite numbers) makes it fall back to
/// `JSONEncoder`, so the output is always readable by `JSONDecoder` with default settings.
public enum RecordEncoder {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let output = Output()
        output.bytes.reserveCapacity(1024)
        if (try? output.child(value)) != nil, !output.unsupported { return output.bytes }
        return Array(try JSONEncoder().encode(value))
    }

    fileprivate struct Unsupported: Error {}

    /// The bytes written so far, shared by every container of one encoding.
    fileprivate final class Output {
        var bytes: [UInt8] = []
        var unsupported = false

        func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

        func string(_ text: String) { JSONValue.writeString(text, to: &bytes) }

        func number(_ value: Int) { bytes.appendDecimal(value, width: 1) }

        func number(_ value: Double) throws {
            guard value.isFinite else { throw Unsupported() }
            raw(String(value))
        }

        private static let otherIntegers: [Any.Type] = [
            Int8.self, Int16.self, Int32.self, Int64.self, UInt.self, UInt8.self, UInt16.self, UInt32.self, UInt64.self,
        ]

        /// Writes one value and closes what its `encode(to:)` opened.
        func child<T: Encodable>(_ value: T) throws {
            // Compared by type first: a failed dynamic cast costs far more than a type comparison, and most
            // values here are structs that would fail every cast.
            let type: Any.Type = T.self
            if type == String.self {
                string(value as! String)
            } else if type == Int.self {
                number(value as! Int)
            } else if type == Bool.self {
                raw(value as! Bool ? "true" : "false")
            } else if type == Double.self {
                try number(value as! Double)
            } else if type == LocalDate.self {
                // Records hold many dates: written in place, not through a string and a container.
                bytes.append(UInt8(ascii: "\""))
                (value as! LocalDate).write(to: &bytes)
                bytes.append(UInt8(ascii: "\""))
            } else if Self.otherIntegers.contains(where: { $0 == type }) {
                // Their own encode(to:) would hand the value straight back here through a single-value
                // container, endlessly.
                raw(String(describing: value))
            } else if type == Float.self {
                let number = value as! Float
                guard number.isFinite else { throw Unsupported() }
                raw(String(describing: number))
            } else if type == Date.self || type == Data.self || type == URL.self || type == Decimal.self {
                throw Unsupported()
            } else {
                let encoder = StreamEncoder(output: self)
                try value.encode(to: encoder)
                switch encoder.opened {
                case .keyed: bytes.append(UInt8(ascii: "}"))
                case .unkeyed: bytes.append(UInt8(ascii: "]"))
                case .single(let wrote): if !wrote { throw Unsupported() }
                case .none, .twice: throw Unsupported()
                }
            }
        }
    }

    fileprivate final class StreamEncoder: Encoder {
        enum Opened { case none, keyed, unkeyed, single(wrote: Bool), twice }

        let output: Output
        var opened = Opened.none
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        init(output: Output) { self.output = output }

        private func open(_ kind: Opened, _ bracket: String) {
            if case .none = opened {
                opened = kind
                output.raw(bracket)
            } else {
                opened = .twice
                output.unsupported = true
            }
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            open(.keyed, "{")
            return KeyedEncodingContainer(KeyedWriter<Key>(output: output))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            open(.unkeyed, "[")
            return UnkeyedWriter(output: output)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            open(.single(wrote: false), "")
            return SingleWriter(encoder: self)
        }
    }

    fileprivate struct KeyedWriter<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let output: Output
        var count = 0
        var codingPath: [any CodingKey] { [] }

        init(output: Output) { self.output = output }

        private mutating func key(_ key: Key) {
            if count > 0 { output.bytes.append(UInt8(ascii: ",")) }
            count += 1
            output.string(key.stringValue)
            output.bytes.append(UInt8(ascii: ":"))
        }

        mutating func encodeNil(forKey key: Key) throws {
            self.key(key)
            output.raw("null")
        }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            self.key(key)
            try output.child(value)
        }

        // The common field types written directly, without the generic path.
        mutating func encode(_ value: String, forKey key: Key) throws {
            self.key(key)
            output.string(value)
        }

        mutating func encode(_ value: Int, forKey key: Key) throws {
            self.key(key)
            output.number(value)
        }

        mutating func encode(_ value: Bool, forKey key: Key) throws {
            self.key(key)
            output.raw(value ? "true" : "false")
        }

        // Optional fields, which synthesized `encode(to:)` hands over as optionals: without these, each goes
        // through the protocol's default and back to the generic `encode` above.
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
            guard let value else { return }
            try encode(value, forKey: key)
        }

        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
            guard let value else { return }
            try encode(value, forKey: key)
        }

        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
            guard let value else { return }
            try encode(value, forKey: key)
        }

        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
            guard let value else { return }
            try encode(value, forKey: key)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            output.unsupported = true
            return KeyedEncodingContainer(KeyedWriter<NestedKey>(output: Output()))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            output.unsupported = true
            return UnkeyedWriter(output: Output())
        }

        mutating func superEncoder() -> any Encoder {
            output.unsupported = true
            return StreamEncoder(output: Output())
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder() }
    }

    fileprivate struct UnkeyedWriter: UnkeyedEncodingContainer {
        let output: Output
        var count = 0
        var codingPath: [any CodingKey] { [] }

        init(output: Output) { self.output = output }

        private mutating func separate() {
            if count > 0 { output.bytes.append(UInt8(ascii: ",")) }
            count += 1
        }

        mutating func encodeNil() throws {
            separate()
            output.raw("null")
        }

        mutating func encode<T: Encodable>(_ value: T) throws {
            separate()
            try output.child(value)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            output.unsupported = true
            return KeyedEncodingContainer(KeyedWriter<NestedKey>(output: Output()))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            output.unsupported = true
            return UnkeyedWriter(output: Output())
        }

        mutating func superEncoder() -> any Encoder {
            output.unsupported = true
            return StreamEncoder(output: Output())
        }
    }

    fileprivate struct SingleWriter: SingleValueEncodingContainer {
        let encoder: StreamEncoder
        var codingPath: [any CodingKey] { [] }

        private func once() throws {
            guard case .single(wrote: false) = encoder.opened else { throw Unsupported() }
            encoder.opened = .single(wrote: true)
        }

        mutating func encodeNil() throws {
            try once()
            encoder.output.raw("null")
        }

        mutating func encode<T: Encodable>(_ value: T) throws {
            try once()
            try encoder.output.child(value)
        }
    }
}
