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
            var problems: [String] = []
            do {
                let config = try DaemonConfig.load(from: configURL(file))
                do {
                    _ = try RuleFiles.loadRules(at: URL(fileURLWithPath: config.rulesPath))
                } catch {
                    problems.append("\(error)")
                }
                do {
                    _ = try RuleFiles.loadCalendars(at: URL(fileURLWithPath: config.holidaysPath))
                } catch {
                    problems.append("\(error)")
                }
            } catch let error as ConfigProblems {
                problems += error.problems.map { "\($0.key): \($0.problem)" }
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
