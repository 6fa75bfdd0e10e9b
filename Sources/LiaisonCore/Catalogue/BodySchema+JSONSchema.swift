/// The body schemas as JSON Schema (2020-12, as OpenAPI 3.1 takes it): built from the same `BodySchema` that
/// validation uses, so the published contract and what the API accepts cannot drift apart.
extension BodySchema {
    /// An object with these fields, no others; an optional field may also be `null`, which reads as left out.
    public var jsonSchema: JSONValue {
        var properties: [String: JSONValue] = [:]
        for field in fields {
            let schema = field.kind.jsonSchema
            properties[field.name] = field.required ? schema : .object(["anyOf": .array([schema, ["type": "null"]])])
        }
        return .object([
            "type": "object", "properties": .object(properties), "additionalProperties": false,
            "required": .array(fields.filter(\.required).map { .string($0.name) }),
        ])
    }
}

extension FieldKind {
    /// What `problem(with:)` accepts, as JSON Schema; never narrower, so nothing valid is described as invalid.
    public var jsonSchema: JSONValue {
        switch self {
        case .date, .birthDate: ["type": "string", "format": "date"]
        case .dateTime: ["type": "string", "format": "date-time"]
        case .dateOrDateTime: ["anyOf": [["type": "string", "format": "date"], ["type": "string", "format": "date-time"]]]
        case .bool: ["type": "boolean"]
        case .text: ["type": "string", "minLength": 1, "pattern": "\\S"]
        case .note: ["type": "string"]
        case .oneOf(let allowed): ["type": "string", "enum": .array(allowed.sorted().map(JSONValue.string))]
        case .listOf(let allowed):
            ["type": "array", "uniqueItems": true, "items": ["type": "string", "enum": .array(allowed.sorted().map(JSONValue.string))]]
        case .integer(let range): ["type": "integer", "minimum": .int(range.lowerBound), "maximum": .int(range.upperBound)]
        case .uuid: ["type": "string", "pattern": .string(UUIDText.pattern)]
        }
    }
}

extension UUIDText {
    /// A UUID in either case, as a regular expression.
    public static let pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
}
