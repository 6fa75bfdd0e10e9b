import Foundation
import Testing

/// What the daemon's modules may not hold, read from their source: a trap on a request's path (a force unwrap,
/// `try!`, a forced cast or `fatalError`) takes the whole exchange down for one bad message.
@Suite struct SourceHygieneTests {
    static let modules = ["LiaisonCore", "LiaisonStore", "LiaisonServer", "LiaisonDelivery", "LiaisonRuntime"]

    /// `x!`, `f()!`, `a[i]!` (not `!=`), `try!`, `as!` and `fatalError(`, outside comments.
    static let trap = #"try!|as!|fatalError\(|[\]\w)]!(?!=)"#

    @Test func noModuleOfTheDaemonCanTrap() throws {
        let trap = try Regex(Self.trap)
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        var found: [String] = []
        for module in Self.modules {
            let folder = sources.appendingPathComponent(module)
            let files = FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
            #expect(!files.isEmpty, "\(module) has no sources")
            for file in files {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                    if code.contains(trap) { found.append("\(module)/\(file):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))") }
                }
            }
        }
        #expect(found.isEmpty, "traps on the daemon's path:\n\(found.joined(separator: "\n"))")
    }
}
