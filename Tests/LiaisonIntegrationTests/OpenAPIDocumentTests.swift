import Foundation
import LiaisonCore
import LiaisonLoad
import LiaisonRuntime
import LiaisonServer
import Testing

/// The published contract is made from the catalogue's own code: each of its parts is checked against what
/// it comes from, and against the live daemon's routes.
@Suite struct OpenAPIDocumentTests {
    let rules = try! RuleFiles.loadRules(at: repository.appendingPathComponent("config/rules.yaml"))
    var document: JSONValue { OpenAPIDocument.make(rules: rules) }

    @Test func everySubmittableTypeIsAVariantWithItsSchemasFields() throws {
        let schemas = try #require(document["components"]?["schemas"])
        let variants = schemas["Message"]?["oneOf"]?.arrayValue ?? []
        #expect(variants.count == MessageType.submittable.count)
        for type in MessageType.submittable {
            let envelope = try #require(schemas["Message.\(type.rawValue)"], "\(type.rawValue)")
            #expect(envelope["properties"]?["type"]?["const"] == .string(type.rawValue))
            let body = try #require(BodySchema.of(type, rules: rules))
            let published = envelope["properties"]?["body"]
            #expect(Set(published?["properties"]?.objectValue?.keys.map { $0 } ?? []) == Set(body.fields.map(\.name)), "\(type.rawValue)")
            #expect(
                Set(published?["required"]?.arrayValue?.compactMap(\.stringValue) ?? []) == Set(body.fields.filter(\.required).map(\.name)),
                "\(type.rawValue)")
            #expect(published?["additionalProperties"] == .bool(false))
            // A referral's `to` is required, as validation has it.
            let required = envelope["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(required.contains("to") == (type.referredTo != nil), "\(type.rawValue)")
        }
        // Enumerations the rules configure are the rules' own.
        let reasons = schemas["Message.cwp.absence"]?["properties"]?["body"]?["properties"]?["reason"]?["enum"]
        #expect(Set(reasons?.arrayValue?.compactMap(\.stringValue) ?? []) == Set(rules.absences.reasons.keys))
    }

    @Test func everyProblemCodeIsPublishedUnderItsStatus() throws {
        let codes = document["components"]?["schemas"]?["Problem"]?["properties"]?["code"]?["enum"]?.arrayValue ?? []
        #expect(Set(codes.compactMap(\.stringValue)) == Set(RefusalCode.allCases.map(\.rawValue)))
        let submit = try #require(document["paths"]?["/v1/messages"]?["post"]?["responses"])
        for status in [202, 400, 401, 403, 409, 413, 415, 422, 429, 503] { #expect(submit[String(status)] != nil, "\(status)") }
        #expect(submit["429"]?["headers"]?["Retry-After"]?["required"] == .bool(true))
    }

    /// Every path the document lists is served, with exactly the methods it lists: a method it does not list
    /// is 405, and the daemon's `Allow` names the document's methods.
    @Test func theDaemonServesThePathsAndMethodsTheDocumentLists() throws {
        let exchange = try Exchange(name: "openapi", inboxes: [])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let served = try JSONValue.parse(exchange.client("jcp-leeds").perform(exchange.request("GET", "/v1/openapi.json", as: "jcp-leeds")).text)
        #expect(served == document)
        let paths = try #require(document["paths"]?.objectValue)
        for (path, operations) in paths {
            let methods = (operations.objectValue?.keys.map { $0.uppercased() } ?? []).sorted()
            let concrete = path.replacingOccurrences(of: "{id}", with: UUID().uuidString.lowercased())
                .replacingOccurrences(of: "{role}", with: "spoc")
            let answer = exchange.client("jcp-leeds").perform(exchange.request("PATCH", concrete, as: "jcp-leeds"))
            #expect(answer.status == 405, "\(path)")
            #expect(answer.headers["allow"] == methods.joined(separator: ", "), "\(path)")
        }
    }
}
