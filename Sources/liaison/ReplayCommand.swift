import ArgumentParser
import Foundation
import LiaisonCore
import LiaisonRuntime
import LiaisonStore

/// `liaison replay FILE`: runs a scenario on a temporary store and prints one JSON line per step.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a scenario through the router, rules and store with a manual clock; one JSON line per step."
    )

    @Argument(help: "The scenario file.")
    var file: String

    @OptionGroup var ruleOptions: RuleOptions

    @Option(help: "Replay on PostgreSQL (postgresql://…), in a schema of its own dropped afterwards; a temporary SQLite file by default.")
    var store: String?

    func run() throws {
        let (rules, calendars) = try ruleOptions.load()
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
        let scenario = try JSONValue.parse(data)
        let location: StoreLocation
        do {
            location = try store.map(StoreLocation.init) ?? .file("replay.sqlite")
        } catch {
            throw ValidationError("--store: \(error)")
        }
        sayUsing(
            configuration: ruleOptions.rules == nil || ruleOptions.holidays == nil ? configURL(ruleOptions.config) : nil,
            store: store == nil ? "a temporary SQLite file" : location.description + " (a schema of its own, dropped afterwards)")
        let replay = ScenarioReplay(rules: rules, calendars: calendars)
        let lines = try Store.withScratch(like: location) { store in try replay.run(scenario: scenario, store: store) }
        var output = ""
        for line in lines { output += line.canonicalText + "\n" }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}
