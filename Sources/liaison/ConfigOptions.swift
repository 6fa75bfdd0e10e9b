import ArgumentParser
import Foundation
import LiaisonCore
import LiaisonRuntime

/// Where the rules and bank-holiday data come from.
struct RuleOptions: ParsableArguments {
    @Option(help: "The rules file (default: config/rules.yaml).")
    var rules: String?

    @Option(help: "Bank-holiday data in GOV.UK's format (default: config/uk-bank-holidays.json).")
    var holidays: String?

    func load() throws -> (RuleSet, CalendarSet) {
        let folder = RuleFiles.configDirectory()
        let rulesURL = rules.map { URL(fileURLWithPath: $0) } ?? folder.appendingPathComponent(RuleFiles.rulesFileName)
        let holidaysURL =
            holidays.map { URL(fileURLWithPath: $0) } ?? folder.appendingPathComponent(RuleFiles.holidaysFileName)
        return (try RuleFiles.loadRules(at: rulesURL), try RuleFiles.loadCalendars(at: holidaysURL))
    }
}

/// Prints a configuration problem and exits non-zero.
func fail(_ error: any Error) -> ExitCode {
    FileHandle.standardError.write(Data("liaison: \(error)\n".utf8))
    return ExitCode(2)
}
