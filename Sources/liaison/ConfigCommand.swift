import ArgumentParser
import Foundation
import LiaisonCore
import LiaisonRuntime
import LiaisonServer
import LiaisonStore

/// `liaison config check [FILE]`: every problem with its key; non-zero exit when there are any.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Work with the daemon configuration.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a daemon configuration, its rules file and bank-holiday data; list every problem.")

        @Option(help: "The configuration file (default: $LIAISON_CONFIG, else config/liaison.yaml).")
        var config: String?

        // Earlier releases took the file as an argument; still accepted, no longer shown.
        @Argument(help: .hidden)
        var file: String?

        func validate() throws {
            if config != nil, file != nil { throw ValidationError("name the configuration once, with --config") }
        }

        func run() throws {
            let url = configURL(config ?? file)
            sayUsing(configuration: url, store: nil)
            var problems: [String] = []
            var config: DaemonConfig?
            do {
                config = try DaemonConfig.load(from: url)
            } catch let error as ConfigProblems {
                problems += error.problems.map { "\($0.key): \($0.problem)" }
            }
            // The rules and bank-holiday data are checked however much else is wrong, where the
            // configuration names them (or beside it).
            if let paths = DaemonConfig.ruleFilePaths(of: url) {
                problems += RuleFiles.problems(rulesAt: URL(fileURLWithPath: paths.rules), holidaysAt: URL(fileURLWithPath: paths.holidays))
                    .map(\.description)
            }
            // A PostgreSQL store is reached, logged into, and asked what it would do with a commit.
            if let config { sayUsing(configuration: nil, store: config.store.description) }
            let store = config.map { Store.check($0.store) } ?? StoreReport()
            problems += store.problems
            if problems.isEmpty {
                print("config ok")
                if let config { print(Self.inboxSummary(config)) }
                for note in store.notes { print(note) }
                if let paths = DaemonConfig.ruleFilePaths(of: url),
                    let calendars = try? RuleFiles.loadCalendars(at: URL(fileURLWithPath: paths.holidays))
                {
                    print("bank holidays: to the end of \(calendars.lastYear)")
                    if let warning = RuleFiles.holidayDataWarning(calendars, today: UKTime.localDate(at: Date())) {
                        print("warning: \(warning)")
                    }
                }
                if let config {
                    let local = LocalCertificates(folder: URL(fileURLWithPath: config.dataDirectory).appendingPathComponent("tls"))
                    if let warning = StoreFiles.exposureWarning(Daemon.privatePaths(config: config, local: local)) {
                        print("warning: \(warning)")
                    }
                    let certificates = CertificateExpiry.certificates(of: config, local: local)
                    for certificate in certificates {
                        print("certificate: \(certificate.role) valid until \(Timestamp.format(certificate.notAfter))")
                    }
                    for warning in CertificateExpiry.warnings(certificates, now: Date()) { print("warning: \(warning)") }
                }
                return
            }
            for problem in problems { FileHandle.standardError.write(Data((problem + "\n").utf8)) }
            throw ExitCode(2)
        }

        /// Which inboxes are pushed and which are pulled: a role left out of the configuration is a pull
        /// inbox, and its copies wait until its party fetches them, so an operator should see which those are.
        static func inboxSummary(_ config: DaemonConfig) -> String {
            let pull = Set(config.pullAddresses.map(\.description))
            let all = config.inboxAddresses.map(\.description)
            let pushed = all.filter { !pull.contains($0) }
            let pulled = all.filter { pull.contains($0) }
            return """
                push inboxes (\(pushed.count)): \(pushed.isEmpty ? "none" : pushed.joined(separator: ", "))
                pull inboxes (\(pulled.count), fetched with GET /v1/inbox/{role}): \(pulled.isEmpty ? "none" : pulled.joined(separator: ", "))
                """
        }
    }
}
