/// The three kinds of party that exchange notices through Liaison (PROTOCOL.md "Parties").
public enum PartyKind: String, Sendable, Codable, CaseIterable {
    case jobcentre
    case prime
    case cwp
}

/// The working-day calendar a jobcentre keeps.
public enum CalendarRegion: String, Sendable, Codable, CaseIterable {
    case englandAndWales = "england-and-wales"
    case scotland
    case northernIreland = "northern-ireland"
}

/// An inbox role within a party.
public enum InboxRole: String, Sendable, Codable, CaseIterable {
    case spoc
    case workCoach = "work-coach"
    case dma
    case nominatedManager = "nominated-manager"
    case nominatedOfficer = "nominated-officer"
    case performance
    case contact

    /// The roles a party of `kind` has.
    public static func roles(of kind: PartyKind) -> [InboxRole] {
        switch kind {
        case .jobcentre: [.spoc, .workCoach, .dma, .nominatedManager, .nominatedOfficer, .performance]
        case .prime: [.contact]
        case .cwp: [.spoc]
        }
    }
}

/// One party known to the exchange.
public struct Party: Sendable, Hashable, Codable {
    public let id: String
    public let kind: PartyKind
    /// The working-day calendar; jobcentres only.
    public let calendar: CalendarRegion?

    public init(id: String, kind: PartyKind, calendar: CalendarRegion? = nil) {
        self.id = id
        self.kind = kind
        self.calendar = calendar
    }
}

/// `<party-id>/<role>`: where a routed copy goes.
public struct Address: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let party: String
    public let role: InboxRole

    public init(_ party: String, _ role: InboxRole) {
        self.party = party
        self.role = role
    }

    /// Parses `party/role`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let role = InboxRole(rawValue: String(parts[1])) else { return nil }
        self.init(String(parts[0]), role)
    }

    public var description: String { "\(party)/\(role.rawValue)" }

    public static func < (lhs: Address, rhs: Address) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let address = Address(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an address: \(text)")
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The parties the exchange knows, by id.
public struct PartyDirectory: Sendable {
    private let parties: [String: Party]

    /// - Throws: `DirectoryError` when an id repeats or a jobcentre has no calendar.
    public init(_ parties: [Party]) throws {
        var byID: [String: Party] = [:]
        for party in parties {
            guard byID[party.id] == nil else { throw DirectoryError(detail: "party \(party.id) is listed twice") }
            guard party.id != SubmissionDesk.routerPartyID else {
                throw DirectoryError(detail: "party id \(party.id) is reserved for the router")
            }
            if party.kind == .jobcentre, party.calendar == nil {
                throw DirectoryError(detail: "jobcentre \(party.id) has no calendar")
            }
            byID[party.id] = party
        }
        self.parties = byID
    }

    /// The party with this id.
    public subscript(id: String) -> Party? { parties[id] }

    /// Every party, ordered by id.
    public var all: [Party] { parties.values.sorted { $0.id < $1.id } }
}

/// The party list is not usable.
public struct DirectoryError: Error, Sendable, CustomStringConvertible {
    public let detail: String
    public var description: String { detail }
}
