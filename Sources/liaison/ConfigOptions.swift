import ArgumentParser
import Foundation
import LiaisonCore
import LiaisonRuntime

/// Where the rules and bank-holiday data come from.
struct RuleOptions: ParsableArguments {
    @Option(help: "The daemon configuration, whose rules and bank holidays are used (default: $LIAISON_CONFIG, else config/liaison.yaml).")
    var config: String?

    @Option(help: "The rules file (default: the configuration's).")
    var rules: String?

    @Option(help: "Bank-holiday data in GOV.UK's format (default: the configuration's).")
    var holidays: String?

    /// The files named, or those the configuration names (by default beside it).
    var urls: (rules: URL, holidays: URL) {
        let configuration = configURL(config)
        let folder = configuration.deletingLastPathComponent()
        let named = DaemonConfig.ruleFilePaths(of: configuration)
        return (
            rules.map { URL(fileURLWithPath: $0) } ?? named.map { URL(fileURLWithPath: $0.rules) }
                ?? folder.appendingPathComponent(RuleFiles.rulesFileName),
            holidays.map { URL(fileURLWithPath: $0) } ?? named.map { URL(fileURLWithPath: $0.holidays) }
                ?? folder.appendingPathComponent(RuleFiles.holidaysFileName)
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
