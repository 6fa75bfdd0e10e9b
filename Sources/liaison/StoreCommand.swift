import ArgumentParser
import Foundation
import LiaisonRuntime
import LiaisonStore

/// `liaison store …`: the store as a whole.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Work with the store as a whole.", subcommands: [Copy.self])

    /// `liaison store copy --to URL`: the embedded store into an empty PostgreSQL database.
    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the embedded SQLite store into an empty PostgreSQL database (with the daemon stopped), and check the copy by counts.")

        @Option(help: "The PostgreSQL database to copy into: postgresql://user@host:port/database?sslmode=…")
        var to: String

        @Option(help: "The SQLite store to copy (default: the configuration's).")
        var from: String?

        @Option(help: "The daemon configuration, to find the store (default: $LIAISON_CONFIG, else config/liaison.yaml).")
        var config: String?

        func run() throws {
            let target: PostgresSettings
            do {
                target = try PostgresSettings(url: to)
            } catch {
                throw ValidationError("--to: \(error)")
            }
            let source: String
            if let from {
                source = from
            } else {
                let daemonConfig: DaemonConfig
                do {
                    daemonConfig = try DaemonConfig.load(from: configURL(config), checkingFiles: false)
                } catch let problems as ConfigProblems {
                    FileHandle.standardError.write(Data("liaison: the configuration has problems:\n\(problems)\n(name the store with --from)\n".utf8))
                    throw ExitCode(2)
                }
                guard case .file(let path) = daemonConfig.store else {
                    throw ValidationError("the configuration's store is PostgreSQL already; name a SQLite store with --from")
                }
                source = path
                sayUsing(configuration: configURL(config), store: path)
            }
            print("copying \(source) into \(target.redacted) (the daemon must be stopped)")
            do {
                let counts = try StoreCopy.copy(from: source, to: target) { table in print("  \(table)") }
                print(Self.table(counts))
                print("copied: every table counts the same on both sides")
            } catch let failure as StoreCopy.Failure {
                if case .countsDiffer(let counts) = failure { print(Self.table(counts)) }
                throw fail(failure)
            } catch {
                throw fail(error)
            }
        }

        static func table(_ counts: [StoreCopy.Count]) -> String {
            let width = counts.map(\.table.count).max() ?? 5
            var lines = ["TABLE".padding(toLength: width, withPad: " ", startingAt: 0) + "  SQLITE  POSTGRESQL"]
            for count in counts {
                lines.append(
                    count.table.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                        + String(count.source).padding(toLength: 6, withPad: " ", startingAt: 0)
                        + "  " + String(count.target))
            }
            return lines.joined(separator: "\n")
        }
    }
}
