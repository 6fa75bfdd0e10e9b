import Foundation
import LiaisonCore
import Yams

/// The request path of `POST /v1/messages` over arbitrary body bytes: the JSON parser, the envelope and body
/// validation, the typed bodies, and the router's preparation and decision on a fresh in-memory store, as
/// each of the parties' kinds. Anything but an answer (a trap, a sanitizer's report) is a bug.
///
/// Built with `-sanitize=fuzzer` and `-D LIAISON_FUZZ` (`scripts/fuzz`) it is a libFuzzer target; built
/// plainly it replays files (the corpus, a crash) through the same path.
enum RequestBodyFuzzer {
    /// The router with the shipped rules, calendars and example parties.
    static let router: SubmissionDesk = {
        let environment = ProcessInfo.processInfo.environment
        let configFolder = URL(fileURLWithPath: environment["LIAISON_CONFIG_DIR"] ?? "config")
        do {
            let rulesText = try String(contentsOf: configFolder.appendingPathComponent("rules.yaml"), encoding: .utf8)
            let rules = try RuleSet(document: try YAMLDecoder().decode(JSONValue.self, from: rulesText))
            let holidays = try Data(contentsOf: configFolder.appendingPathComponent("uk-bank-holidays.json"))
            let calendars = try CalendarSet(govUKJSON: Array(holidays))
            let directory = try PartyDirectory(senders.map(\.party))
            return SubmissionDesk(context: RuleContext(directory: directory, rules: rules, calendars: calendars))
        } catch {
            FileHandle.standardError.write(Data("liaison-fuzz: cannot load \(configFolder.path): \(error)\n".utf8))
            exit(2)
        }
    }()

    /// One sender of each kind, and the parties a message may name.
    static let senders: [(party: Party, id: String)] = [
        (Party(id: "jcp-leeds", kind: .jobcentre, calendar: .englandAndWales), "jcp-leeds"),
        (Party(id: "jcp-glasgow", kind: .jobcentre, calendar: .scotland), "jcp-glasgow"),
        (Party(id: "prime-a", kind: .prime), "prime-a"),
        (Party(id: "cwp-a", kind: .cwp), "cwp-a"),
    ]

    /// When every input is received: the scenarios' dates fall in its window.
    static let receivedAt = Date(timeIntervalSince1970: 1_780_304_400)  // 2026-06-01T09:00:00Z

    /// Runs one input through the path as each sender; returns the statuses answered.
    @discardableResult
    static func run(_ bytes: [UInt8]) -> [Int] {
        senders.map { sender in
            let store = InMemoryCaseStore()
            do {
                return try store.transaction { transaction in
                    try router.submit(bytes, from: sender.id, at: receivedAt, in: transaction).status
                }
            } catch {
                // The in-memory store does not fail: an error out of the router is the fuzzer's find.
                fatalError("the router threw for a body: \(error)")
            }
        }
    }
}

/// Built for fuzzing (`-D LIAISON_FUZZ`), hands the process to libFuzzer; otherwise replays files, or every file
/// in the folders given, through the fuzzer's path, and prints the count.
@main
struct FuzzMain {
    static func main() throws {
        #if LIAISON_FUZZ
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(
                LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                    RequestBodyFuzzer.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
                    return 0
                })
        #else
            try replay(CommandLine.arguments.dropFirst().map { URL(fileURLWithPath: $0) })
        #endif
    }

    static func replay(_ arguments: [URL]) throws {
        var files: [URL] = []
        for url in arguments {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
                files += try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
            } else {
                files.append(url)
            }
        }
        var statuses: [Int: Int] = [:]
        for file in files.sorted(by: { $0.path < $1.path }) {
            for status in RequestBodyFuzzer.run(Array(try Data(contentsOf: file))) { statuses[status, default: 0] += 1 }
        }
        let summary = statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        print("replayed \(files.count) inputs as \(RequestBodyFuzzer.senders.count) senders each without a crash (\(summary))")
    }
}

#if LIAISON_FUZZ
    /// libFuzzer's entry for a program with a main of its own (its C name, not ours to choose).
    // swift-format-ignore: AlwaysUseLowerCamelCase
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32
#endif
