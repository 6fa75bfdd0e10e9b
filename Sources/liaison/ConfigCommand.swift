import ArgumentParser
import Foundation
import LiaisonRuntime

/// `liaison config check [FILE]`: every problem with its key; non-zero exit when there are any.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Work with the daemon configuration.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a daemon configuration, its rules file and bank-holiday data; list every problem.")

        @Argument(help: "The configuration file (default: config/liaison.yaml).")
        var file: String?

        func run() throws {
            let url = configURL(file)
            var problems: [String] = []
            do {
                _ = try DaemonConfig.load(from: url)
            } catch let error as ConfigProblems {
                problems += error.problems.map { "\($0.key): \($0.problem)" }
            }
            // The rules and bank-holiday data are checked however much else is wrong, where the
            // configuration names them (or beside it).
            if let paths = DaemonConfig.ruleFilePaths(of: url) {
                problems += RuleFiles.problems(rulesAt: URL(fileURLWithPath: paths.rules), holidaysAt: URL(fileURLWithPath: paths.holidays))
                    .map(\.description)
            }
            if problems.isEmpty {
                print("config ok")
                return
            }
            for problem in problems { FileHandle.standardError.write(Data((problem + "\n").utf8)) }
            throw ExitCode(2)
        }
    }
}
