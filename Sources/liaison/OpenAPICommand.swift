import ArgumentParser
import Foundation
import LiaisonServer

/// `liaison openapi`: prints the OpenAPI 3.1 document of the HTTP API, as `/v1/openapi.json` serves it.
struct OpenAPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi", abstract: "Print the HTTP API's OpenAPI 3.1 document for the rules given.")

    @OptionGroup var rules: RuleOptions

    func run() throws {
        let (ruleSet, _) = try rules.load()
        print(OpenAPIDocument.make(rules: ruleSet).canonicalText)
    }
}
