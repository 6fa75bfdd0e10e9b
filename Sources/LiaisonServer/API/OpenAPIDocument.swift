import LiaisonCore

/// The HTTP API as an OpenAPI 3.1 document, served at `/v1/openapi.json` and printed by `liaison openapi`.
///
/// Every message type's body comes from the same `BodySchema` that validation uses (`BodySchema.jsonSchema`),
/// with the enumerations the rules configure, and every problem code from `RefusalCode`: the contract is made
/// from the code that enforces it, so the two cannot drift.
public enum OpenAPIDocument {
    /// The document for the rules in force (their enumerations are in the body schemas).
    public static func make(rules: RuleSet) -> JSONValue {
        var schemas: [String: JSONValue] = [
            "Problem": problem, "Acceptance": acceptance, "Decision": decision, "MessageState": messageState,
            "Pull": pull, "Acknowledgement": acknowledgement, "AcknowledgementResult": acknowledgementResult,
            "Status": ["type": "object", "required": ["status"], "properties": ["status": ["type": "string"]]],
        ]
        var variants: [JSONValue] = []
        var mapping: [String: JSONValue] = [:]
        for type in MessageType.submittable {
            guard let body = BodySchema.of(type, rules: rules) else { continue }
            let name = "Message." + type.rawValue
            schemas[name] = envelope(type, body: body)
            variants.append(reference(name))
            mapping[type.rawValue] = .string("#/components/schemas/\(name)")
        }
        schemas["Message"] = ["oneOf": .array(variants), "discriminator": ["propertyName": "type", "mapping": .object(mapping)]]

        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Liaison", "version": "1",
                "description": .string(
                    "Casework notices between Jobcentre Plus, Work Programme primes and CWP providers (PROTOCOL.md, "
                        + "CATALOGUE.md). Every error is application/problem+json with a stable code. A method a path does "
                        + "not take is 405 with Allow; an unknown method 501; a request not whole within the request "
                        + "timeout 408; headers over the limit 431."),
            ],
            "security": [["bearer": []], ["mutualTLS": []]],
            "paths": paths,
            "components": [
                "schemas": .object(schemas),
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "A party's bearer token"],
                    "mutualTLS": ["type": "mutualTLS", "description": "A client certificate of a configured party"],
                ],
            ],
        ]
    }

    // MARK: Paths

    private static var paths: JSONValue {
        [
            "/v1/messages": [
                "post": operation(
                    "submitMessage", "Submit one message", statuses: [400, 401, 403, 408, 409, 413, 415, 422, 429, 431, 503],
                    success: (
                        202,
                        response(
                            "Stored durably (fsync'd) and routed; or, with Idempotent-Replayed, the same id and content answered as before",
                            schema: reference("Acceptance"),
                            headers: ["Idempotent-Replayed": ["schema": ["type": "string", "enum": ["true"]]]],
                            links: ["lookUp": ["operationId": "lookUpMessage", "parameters": ["id": "$response.body#/id"]]])
                    ),
                    requestBody: ["required": true, "content": ["application/json": ["schema": reference("Message")]]])
            ],
            "/v1/messages/{id}": [
                "get": operation(
                    "lookUpMessage", "A message's state, decision, routes and delivery attempts (its sender or a recipient only)",
                    statuses: [400, 401, 404, 408, 429, 431, 503],
                    success: (200, response("The message", schema: reference("MessageState"))),
                    parameters: [["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]])
            ],
            "/v1/inbox/{role}": [
                "get": operation(
                    "pullInbox", "Lease the oldest copies of one of this party's pull inboxes",
                    statuses: [400, 401, 403, 404, 408, 422, 429, 431, 503],
                    success: (200, response("The copies leased, until when, and how many wait behind a leased copy", schema: reference("Pull"))),
                    parameters: [
                        role,
                        ["name": "limit", "in": "query", "required": false, "schema": ["type": "integer", "minimum": 1, "default": 100]],
                    ])
            ],
            "/v1/inbox/{role}/ack": [
                "post": operation(
                    "acknowledgeCopies", "Acknowledge pulled copies", statuses: [400, 401, 403, 404, 408, 413, 415, 422, 429, 431, 503],
                    success: (200, response("Which ids counted", schema: reference("AcknowledgementResult"))),
                    parameters: [role],
                    requestBody: ["required": true, "content": ["application/json": ["schema": reference("Acknowledgement")]]])
            ],
            "/healthz": [
                "get": operation(
                    "health", "Liveness", statuses: [400, 401, 408, 431],
                    success: (200, response("Alive", schema: reference("Status"))))
            ],
            "/readyz": [
                "get": operation(
                    "readiness", "Readiness: the store writable and the daemon not draining", statuses: [400, 401, 408, 431, 503],
                    success: (200, response("Ready", schema: reference("Status"))))
            ],
            "/metrics": [
                "get": operation(
                    "metrics", "Prometheus text format (the parties under metricsReaders only)", statuses: [400, 401, 403, 408, 431, 503],
                    success: (200, ["description": "Metrics", "content": ["text/plain": ["schema": ["type": "string"]]]]))
            ],
            "/v1/openapi.json": [
                "get": operation(
                    "openAPI", "This document", statuses: [400, 401, 408, 431],
                    success: (200, ["description": "The OpenAPI document", "content": ["application/json": ["schema": ["type": "object"]]]]))
            ],
        ]
    }

    private static let role: JSONValue = [
        "name": "role", "in": "path", "required": true,
        "schema": ["type": "string", "enum": .array(InboxRole.allCases.map { .string($0.rawValue) })],
    ]

    private static func operation(
        _ id: String, _ summary: String, statuses: [Int], success: (Int, JSONValue), parameters: [JSONValue] = [],
        requestBody: JSONValue? = nil
    ) -> JSONValue {
        var responses: [String: JSONValue] = [String(success.0): success.1]
        for status in statuses { responses[String(status)] = problemResponse(status) }
        var fields: [String: JSONValue] = ["operationId": .string(id), "summary": .string(summary), "responses": .object(responses)]
        if !parameters.isEmpty { fields["parameters"] = .array(parameters) }
        if let requestBody { fields["requestBody"] = requestBody }
        return .object(fields)
    }

    private static func response(
        _ description: String, schema: JSONValue, headers: [String: JSONValue] = [:], links: [String: JSONValue] = [:]
    ) -> JSONValue {
        var fields: [String: JSONValue] = [
            "description": .string(description), "content": ["application/json": ["schema": schema]],
        ]
        if !headers.isEmpty { fields["headers"] = .object(headers) }
        if !links.isEmpty { fields["links"] = .object(links) }
        return .object(fields)
    }

    /// A problem answer with `status`, listing the codes that answer with it.
    private static func problemResponse(_ status: Int) -> JSONValue {
        let codes = RefusalCode.allCases.filter { $0.status == status }.map(\.rawValue).sorted()
        var fields: [String: JSONValue] = [
            "description": .string("Refused: " + codes.joined(separator: ", ")),
            "content": ["application/problem+json": ["schema": reference("Problem")]],
        ]
        let integer: JSONValue = ["schema": ["type": "integer", "minimum": 0], "required": true]
        switch status {
        case 401: fields["headers"] = ["WWW-Authenticate": ["schema": ["type": "string"], "required": true]]
        case 429, 503: fields["headers"] = ["Retry-After": integer]
        default: break
        }
        return .object(fields)
    }

    private static func reference(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    // MARK: Schemas

    /// A submission of `type`: the envelope of PROTOCOL.md with the type's body.
    private static func envelope(_ type: MessageType, body: BodySchema) -> JSONValue {
        var required: [JSONValue] = ["id", "type", "sentAt", "nino", "body"]
        if type.referredTo != nil { required.append("to") }
        return [
            "type": "object", "additionalProperties": false, "required": .array(required),
            "properties": [
                "id": ["type": "string", "pattern": .string(UUIDText.pattern), "description": "Chosen by the sender: the idempotency key"],
                "type": ["type": "string", "const": .string(type.rawValue)],
                "from": [
                    "type": ["string", "null"], "description": "The authenticated party (filled in when left out; anything else is 403)",
                ],
                "to": type.referredTo.map { kind in
                    ["type": "string", "minLength": 1, "description": .string("A \(kind.rawValue) party")]
                } ?? ["type": ["string", "null"], "minLength": 1, "description": "The case's counterpart, when given"],
                "sentAt": ["type": "string", "format": "date-time"],
                "nino": [
                    "type": "string", "minLength": 9,
                    "description": "National Insurance number: spaces and case are normalised, then it is validated",
                ],
                "scr": ["type": ["boolean", "null"], "description": "Special Customer Record: true is refused, clerical only"],
                "body": body.jsonSchema,
            ],
        ]
    }

    private static var problem: JSONValue {
        [
            "type": "object", "required": ["type", "title", "status", "code", "detail", "errors"],
            "properties": [
                "type": ["type": "string"], "title": ["type": "string"], "status": ["type": "integer"],
                "code": ["type": "string", "enum": .array(RefusalCode.allCases.map { .string($0.rawValue) })],
                "detail": ["type": "string"],
                "errors": [
                    "type": "array",
                    "items": [
                        "type": "object", "required": ["field", "problem"],
                        "properties": ["field": ["type": "string"], "problem": ["type": "string"]],
                    ],
                ],
            ],
        ]
    }

    private static var acceptance: JSONValue {
        [
            "type": "object", "required": ["id", "status", "routedTo", "decision"],
            "properties": [
                "id": ["type": "string"], "status": ["type": "string", "const": "accepted"],
                "routedTo": ["type": "array", "items": ["type": "string"]], "decision": reference("Decision"),
            ],
        ]
    }

    private static var decision: JSONValue {
        [
            "type": "object", "required": ["outcome"],
            "description": "Fields besides these are named per type (CATALOGUE.md), such as deadline or indicativeSanctionWeeks",
            "properties": [
                "outcome": ["type": "string"], "advice": ["type": "string"], "actions": ["type": "array", "items": ["type": "string"]],
                "rule": ["type": "string"], "basis": ["type": "array", "items": ["type": "string"]], "explanation": ["type": "string"],
            ],
        ]
    }

    private static var messageState: JSONValue {
        let event: JSONValue = [
            "type": "object", "required": ["at", "state"],
            "properties": [
                "at": ["type": "string", "format": "date-time"], "state": ["type": "string"], "reason": ["type": "string"],
                "httpStatus": ["type": "integer"], "error": ["type": "string"],
            ],
        ]
        return [
            "type": "object", "required": ["id", "type", "from", "acceptedAt", "state", "routes", "answeredBy"],
            "properties": [
                "id": ["type": "string"], "type": ["type": "string"], "from": ["type": "string"],
                "acceptedAt": ["type": "string", "format": "date-time"], "state": ["type": "string"],
                "decision": reference("Decision"),
                "inReplyTo": ["type": "string", "description": "The message this one answers"],
                "answeredBy": [
                    "type": "array", "items": ["type": "string"],
                    "description": "The messages that answer this one and that the caller sent or received, oldest first",
                ],
                "routes": [
                    "type": "array",
                    "items": [
                        "type": "object", "required": ["copyId", "address", "state", "attempts", "events"],
                        "properties": [
                            "copyId": ["type": "string"], "address": ["type": "string"], "state": ["type": "string"],
                            "attempts": ["type": "integer"], "events": ["type": "array", "items": event],
                        ],
                    ],
                ],
            ],
        ]
    }

    private static var pull: JSONValue {
        [
            "type": "object", "required": ["messages", "leasedUntil", "waitingBehindLeased"],
            "properties": [
                "messages": [
                    "type": "array",
                    "items": [
                        "type": "object", "required": ["id", "message"],
                        "properties": ["id": ["type": "string", "description": "The copy id, to acknowledge"], "message": ["type": "object"]],
                    ],
                ],
                "leasedUntil": ["type": "string", "format": "date-time"],
                "waitingBehindLeased": [
                    "type": "integer", "minimum": 0,
                    "description": "Copies held back behind an earlier copy of the same claimant still leased (per-claimant order)",
                ],
            ],
        ]
    }

    private static var acknowledgement: JSONValue {
        let copyID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(/[^/]+/[^/]+)?$"
        return [
            "type": "object", "required": ["ids"],
            "properties": [
                "ids": [
                    "type": "array",
                    "description": "Copy ids as pulled (<message id>/<party>/<role>) of this inbox, or message ids",
                    "items": ["type": "string", "pattern": .string(copyID)],
                ]
            ],
        ]
    }

    private static var acknowledgementResult: JSONValue {
        [
            "type": "object", "required": ["acknowledged", "notAcknowledged"],
            "properties": [
                "acknowledged": ["type": "array", "items": ["type": "string"]],
                "notAcknowledged": ["type": "array", "items": ["type": "string"]],
            ],
        ]
    }
}
