import ArgumentParser
import Foundation
import LiaisonRuntime

/// `liaison rules check [FILE]`: reads a rules file as the daemon would and reports every bad key.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Work with the rule configuration.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a rules file and the bank-holiday data.")

        @Argument(help: "The rules file (default: the configuration's).")
        var file: String?

        @Option(help: "Bank-holiday data in GOV.UK's format (default: the configuration's).")
        var holidays: String?

        @Option(help: "The daemon configuration, whose rules and bank holidays are checked (default: $LIAISON_CONFIG, else config/liaison.yaml).")
        var config: String?

        func run() throws {
            let options = try RuleOptions.parse(
                (file.map { ["--rules", $0] } ?? []) + (holidays.map { ["--holidays", $0] } ?? []) + (config.map { ["--config", $0] } ?? []))
            sayUsing(configuration: file == nil || holidays == nil ? configURL(config) : nil, store: nil)
            let problems = RuleFiles.problems(rulesAt: options.urls.rules, holidaysAt: options.urls.holidays)
            for problem in problems { FileHandle.standardError.write(Data("liaison: \(problem)\n".utf8)) }
            if !problems.isEmpty { throw ExitCode(2) }
            print("rules ok")
        }
    }
}
