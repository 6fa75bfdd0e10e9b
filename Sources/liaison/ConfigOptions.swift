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

    /// The files named, or those in the configuration folder.
    var urls: (rules: URL, holidays: URL) {
        let folder = RuleFiles.configDirectory()
        return (
            rules.map { URL(fileURLWithPath: $0) } ?? folder.appendingPathComponent(RuleFiles.rulesFileName),
            holidays.map { URL(fileURLWithPath: $0) } ?? folder.appendingPathComponent(RuleFiles.holidaysFileName)
        )
    }

    func load() throws -> (RuleSet, CalendarSet) {
        (try RuleFiles.loadRules(at: urls.rules), try RuleFiles.loadCalendars(at: urls.holidays))
    }
}

/// Prints a configuration problem and exits non-zero.
func fail(_ error: any Error) -> ExitCode {
    FileHandle.standardError.write(Data("liaison: \(error)\n".utf8))
    return ExitCode(2)
}
