import NIOCore
import PostgresNIO

/// A value bound to a PostgreSQL statement: one of the portable values, or an array for a statement over
/// many rows at once (`unnest($1::text[], $2::int8[], …)`), whose elements may be NULL.
enum PostgresBind {
    case value(SQLValue)
    case texts([String?])
    case integers([Int64?])
    case reals([Double?])

    func append(to bindings: inout PostgresBindings) {
        switch self {
        case .value(.null): bindings.appendNull()
        case .value(.integer(let number)): bindings.append(number)
        case .value(.real(let number)): bindings.append(number)
        case .value(.text(let text)): bindings.append(text)
        case .value(.bool(let flag)): bindings.append(flag)
        case .texts(let elements): bindings.append(NullableArray(elements))
        case .integers(let elements): bindings.append(NullableArray(elements))
        case .reals(let elements): bindings.append(NullableArray(elements))
        }
    }
}

/// A one-dimensional array in PostgreSQL's binary format whose elements may be NULL (postgres-nio encodes
/// arrays of values only).
struct NullableArray<Element: PostgresArrayEncodable & PostgresNonThrowingEncodable>: PostgresNonThrowingEncodable {
    let elements: [Element?]

    init(_ elements: [Element?]) {
        self.elements = elements
    }

    static var psqlType: PostgresDataType { Element.psqlArrayType }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        // Dimensions, whether any element is NULL, and the elements' type.
        buffer.writeInteger(elements.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(elements.contains { $0 == nil } ? 1 : 0, as: Int32.self)
        buffer.writeInteger(Element.psqlType.rawValue)
        guard !elements.isEmpty else { return }
        // The one dimension's length and lower bound.
        buffer.writeInteger(Int32(elements.count))
        buffer.writeInteger(1, as: Int32.self)
        for element in elements {
            guard let element else {
                buffer.writeInteger(-1, as: Int32.self)
                continue
            }
            // Each element: its length, then its bytes.
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(0, as: Int32.self)
            let start = buffer.writerIndex
            element.encode(into: &buffer, context: context)
            buffer.setInteger(Int32(buffer.writerIndex - start), at: lengthIndex)
        }
    }
}
