import ArgumentParser
import Foundation
import LiaisonCore
import LiaisonRuntime

/// `liaison replay FILE`: runs a scenario on a temporary store and prints one JSON line per step.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a scenario through the router, rules and store with a manual clock; one JSON line per step."
    )

    @Argument(help: "The scenario file.")
    var file: String

    @OptionGroup var ruleOptions: RuleOptions

    func run() throws {
        let (rules, calendars) = try ruleOptions.load()
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
        let scenario = try JSONValue.parse(data)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let lines = try ScenarioReplay(rules: rules, calendars: calendars)
            .run(scenario: scenario, storePath: folder.appendingPathComponent("replay.sqlite").path)
        var output = ""
        for line in lines { output += line.canonicalText + "\n" }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}
