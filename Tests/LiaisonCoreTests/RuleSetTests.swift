import Foundation
import LiaisonCore
import LiaisonRuntime
import Testing

@Suite struct RuleSetTests {
    private func shippedTree() throws -> JSONValue {
        try RuleFiles.readTree(at: configFolder.appendingPathComponent("rules.yaml"))
    }

    private func replacing(_ path: [String], with value: JSONValue?, in tree: JSONValue) -> JSONValue {
        guard var fields = tree.objectValue, let first = path.first else { return value ?? .null }
        if path.count == 1 {
            fields[first] = value
        } else {
            fields[first] = replacing(Array(path.dropFirst()), with: value, in: fields[first] ?? .object([:]))
        }
        return .object(fields)
    }

    @Test func theShippedFileHoldsTheCatalogueDefaults() {
        #expect(shippedRules.workProgramme.attachmentWorkingDays == 15)
        #expect(shippedRules.communityWorkPlacements.placementWeeks == 30)
        #expect(shippedRules.absences.shortSicknessMaximumDays == 14)
        #expect(shippedRules.absences.reasons["funeral"] == .emergency)
        #expect(shippedRules.sanctions.higherEscalation == [13: 26, 26: 156, 156: 156])
    }

    @Test func aMissingKeyIsNamed() throws {
        let tree = replacing(["absences", "sickness", "shortMaximumDays"], with: nil, in: try shippedTree())
        #expect(throws: ConfigError(key: "absences.sickness.shortMaximumDays", problem: "is missing")) {
            try RuleSet(document: tree)
        }
    }

    @Test func aMistypedValueIsNamed() throws {
        let tree = replacing(["communityWorkPlacements", "placementWeeks"], with: .string("thirty"), in: try shippedTree())
        let error = #expect(throws: ConfigError.self) { try RuleSet(document: tree) }
        #expect(error?.key == "communityWorkPlacements.placementWeeks")
    }

    @Test func anUnknownKeyIsNamed() throws {
        let tree = replacing(["absences", "emergency", "maxDays"], with: .number(7), in: try shippedTree())
        let error = #expect(throws: ConfigError.self) { try RuleSet(document: tree) }
        #expect(error?.key == "absences.emergency.maxDays")
    }

    @Test func anUnknownReasonCategoryIsNamed() throws {
        let tree = replacing(["absences", "reasons", "funeral"], with: .string("holiday"), in: try shippedTree())
        let error = #expect(throws: ConfigError.self) { try RuleSet(document: tree) }
        #expect(error?.key == "absences.reasons.funeral")
    }

    @Test func anIncompleteEscalationTableIsNamed() throws {
        let tree = replacing(["sanctions", "higherLevel", "escalation", "156"], with: nil, in: try shippedTree())
        let error = #expect(throws: ConfigError.self) { try RuleSet(document: tree) }
        #expect(error?.key == "sanctions.higherLevel.escalation.156")
    }

    @Test func everyProblemInARulesFileIsListedAtOnce() throws {
        var tree = replacing(["absences", "sickness", "shortMaximumDays"], with: nil, in: try shippedTree())
        tree = replacing(["communityWorkPlacements", "placementWeeks"], with: .string("thirty"), in: tree)
        tree = replacing(["absences", "emergency", "maxDays"], with: .number(7), in: tree)
        tree = replacing(["absences", "reasons", "funeral"], with: .string("holiday"), in: tree)
        #expect(
            Set(RuleSet.problems(in: tree).map(\.key)) == [
                "absences.sickness.shortMaximumDays", "communityWorkPlacements.placementWeeks", "absences.emergency.maxDays",
                "absences.reasons.funeral",
            ])
        // A missing section is one problem, not one for each setting in it.
        let noSanctions = replacing(["sanctions"], with: nil, in: try shippedTree())
        #expect(RuleSet.problems(in: noSanctions).map(\.key) == ["sanctions"])
        #expect(RuleSet.problems(in: try shippedTree()).isEmpty)
        // An empty file is one problem, and never a rule set of stand-ins.
        #expect(RuleSet.problems(in: .null).map(\.key) == ["(top level)"])
        #expect(throws: ConfigError.self) { try RuleSet(document: .null) }
        // A bad key is named once, for what is wrong with it.
        let badLength = replacing(["sanctions", "higherLevel", "escalation", "soon"], with: .number(13), in: try shippedTree())
        #expect(RuleSet.problems(in: badLength).map(\.key) == ["sanctions.higherLevel.escalation.soon"])
    }

    @Test func aFileThatIsNotYAMLIsRefusedWithItsPath() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID()).yaml")
        try "workProgramme: [unclosed".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: ConfigError.self) { try RuleFiles.loadRules(at: url) }
        #expect(error?.key == url.path)
    }

    @Test func editingTheRulesFileChangesBehaviourWithoutRebuilding() throws {
        // The same binary, a rules file with 20 weeks instead of 30: the expected end date moves.
        let text = try String(contentsOf: configFolder.appendingPathComponent("rules.yaml"), encoding: .utf8)
        let edited = text.replacingOccurrences(of: "placementWeeks: 30", with: "placementWeeks: 20")
        #expect(edited != text)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID()).yaml")
        try edited.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let harness = Harness(rules: try RuleFiles.loadRules(at: url))
        let answer = harness.referToPlacement()
        #expect(answer.decision("expectedEndDate") == .string("2026-06-01"))
        #expect(Harness().referToPlacement().decision("expectedEndDate") == .string("2026-08-10"))
    }
}
